"""The command line: ``boundary`` turns every failure a user can cause into one line and exit
status 2; ``commands/`` holds explain.py's commands, one module each."""
