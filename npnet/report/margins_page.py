"""The HTML of ``margins``' parts: under each mistake card, why the predicted class and not the true one,
its margin and its counterfactual; in the accuracy section, the accuracy under attack. Texts escaped and
exact numbers in ``data-value`` attributes, as ``page`` writes them (its helpers)."""
from . import pictures
from .page import e, number, percent


def signed_scale(scale, what, key):
    """The diverging colour bar of one signed map: +scale (red) at the top, -scale (blue) at the bottom;
    ``key`` names the map in the end's data-map attribute."""
    return (f'<div class="scale"><span class="end" data-map="{key}" data-value="{number(scale)}">+{scale:.3g}</span>'
            f'<img src="{pictures.signed_colorbar_uri()}" alt="colour scale of {e(what)}: red +{scale:.3g}, white 0, '
            f'blue -{scale:.3g}"><span class="end">−{scale:.3g}</span></div>')


def closeness_html(card, closeness):
    """A mistake's contrastive Grad-CAM (why predicted and not true), its margin and its counterfactual."""
    if not closeness:
        return ""
    true, predicted = card["maps"][0]["name"], card["maps"][1]["name"]
    contrast, margin, found = closeness["contrast"], closeness["margin"], closeness["counterfactual"]
    why = f"why {predicted} and not {true}"
    parts = [f'<figure class="contrast"><div class="stack"><img class="px" src="{card["image"]}" alt="{e(card["title"])}, '
             f'under the map"><img class="px signed" src="{contrast["uri"]}" alt="contrastive Grad-CAM: {e(why)}; red: '
             f'evidence for {e(predicted)}, blue: for {e(true)}"></div><figcaption><b>why predicted, not true</b>Grad-CAM '
             f'of y<sup>pred</sup> − y<sup>true</sup></figcaption></figure>',
             signed_scale(contrast["scale"], "the contrastive Grad-CAM", "contrast")]
    search = f'targeted PGD-{margin["steps"]}, bisection on the l2 radius to {margin["tolerance"]:g}'
    if margin["reached"]:
        text = (f'the true class is <b>{margin["radius"]:.3g}</b> grey levels away (l2)</p><p class="how">'
                f'{search}: reached at {margin["radius"]:.3g} (root mean square {margin["rms"]:.2g} grey levels '
                f'per pixel value), not at {margin["below"]:.3g}')
        factor = f"×{found['factor']:.0f}" if found["factor"] else "none"
        back = f"why {true} and not {predicted}"
        thumbs = (f'<figure><img class="px" src="{card["image"]}" alt="{e(card["title"])}"><figcaption>image'
                  f'</figcaption></figure><figure><img class="px" src="{found["image"]}" alt="counterfactual: the image '
                  f'changed by l2 {margin["l2"]:.3g} grey levels, now {e(true)} with p = {found["prob"]:.1%}">'
                  f'<figcaption>changed: true at p {found["prob"]:.0%}</figcaption></figure>'
                  f'<figure><img class="px" src="{found["change"]}" alt="the change, amplified {factor}, grey = 0">'
                  f'<figcaption>change {factor} (grey 0)</figcaption></figure>'
                  f'<figure><div class="stack"><img class="px" src="{found["image"]}" alt="the counterfactual, under the '
                  f'map"><img class="px signed" src="{found["contrast"]["uri"]}" alt="contrastive Grad-CAM on the '
                  f'counterfactual: {e(back)}; red: for {e(true)}, blue: for {e(predicted)}"></div><figcaption>'
                  f'on it: why true, not predicted</figcaption></figure>'
                  + signed_scale(found["contrast"]["scale"], "the map on the counterfactual", "counterfactual"))
    else:
        text = (f'the true class is not reached within {margin["high"]:g} grey levels (l2)</p><p class="how">'
                f'{search}')
        thumbs = ""
    parts.append(f'<div class="counterfactual"><p class="margin" data-value="{number(margin["radius"])}">{text}</p>'
                 f'<div class="thumbs">{thumbs}</div></div>')
    return f'<div class="closeness">{"".join(parts)}</div>'


def robustness_html(part):
    """The accuracy under attack: the table (exact values in data-value) and the curve."""
    if part is None:
        return ""
    table = part["table"]
    radii = list(next(iter(table["attacks"].values())))
    heads = "".join(f'<th scope="col" class="num">eps {eps}</th>' for eps in radii)
    rows = "".join(f'<tr data-attack="{e(name)}"><th scope="row">{e(name)}</th>'
                   f'<td class="num" data-value="{number(table["clean"])}">{percent(table["clean"])}</td>'
                   + "".join(f'<td class="num" data-eps="{e(eps)}" data-value="{number(value)}">{percent(value)}</td>'
                             for eps, value in row.items()) + "</tr>"
                   for name, row in table["attacks"].items())
    how = (f'On {e(part["sample"])}{" (evenly spaced)" if part["evenly_spaced"] else ""}, attacked in '
           f'{part["seconds"]:.0f} s. Each attack moves every image away from its true label, every pixel value '
           f'changed by at most eps grey levels (of 255): fgsm one step, pgdK K steps of eps / 4 from a random start '
           f'(as <code>explain.py robustness</code>). An image already wrong stays wrong.')
    return (f'<h3>Under attack</h3><p class="note">{how}</p><table class="robustness"><thead><tr><th scope="col">'
            f'attack</th><th scope="col" class="num">clean</th>{heads}</tr></thead><tbody>{rows}</tbody></table>'
            f'<img class="figure robustness" src="{part["figure"]}" alt="accuracy under attack against eps, one '
            f'line per attack">')
