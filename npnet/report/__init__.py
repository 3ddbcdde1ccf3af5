"""``explain.py report``: the whole debugging story of a model as one self-contained HTML page.

    content.py       what the page shows, computed (numbers, names, picture URIs)
    faithfulness.py  the faithfulness table: a scored sample, or a whole run's JSON
    margins.py       each mistake's contrastive Grad-CAM, margin and counterfactual; the accuracy under attack
    margins_page.py  their HTML (a card's part is written into the card, as 'closeness')
    pictures.py      images, heatmaps and feature maps as small PNG data URIs
    page.py          the HTML, with report.css and report.js inlined
"""
