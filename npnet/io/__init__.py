"""Files in and out: checkpoints and their checks, safe reading and atomic writing, ``load_model`` for
any model file npnet reads, and the error types every user-facing failure is raised as."""
