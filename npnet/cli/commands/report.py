"""explain.py report: a model's whole debugging story as one self-contained web page.

The model (summary, recipe, learning curves), its accuracy (per class, sortable; the confusion matrix and
the most confused pairs with examples; with --robustness the accuracy under attack), its mistakes (most
confident first, top-5 probabilities, the heatmaps of every explanation method for the true and the
predicted class on one scale, a selector to switch method, a click for the feature maps; why the
predicted class and not the true one, how far the true class was and the counterfactual image,
``npnet.report.margins``), the faithfulness table, and the user's own images.
One HTML file: every picture, style and script inline, nothing fetched, so it opens offline anywhere."""
import sys
import time

import numpy as np
from tqdm import tqdm

from ...explain import classify, ranked_mistakes
from ...io.files import write_text_atomic
from ...report import content, margins, margins_page, page, training_data
from ...explain.faithfulness import sample as faithfulness
from ..boundary import whole_number
from ...data.images import load_image
from .common import Model, cache_folder, load_labelled, out_dir, positive, trained_on_note, wrote
from .compare import parse_methods
from .demo import newest_model

HELP = "one self-contained HTML page: accuracy, mistakes explained by every method, faithfulness"
PARENTS = ("data",)


def add_arguments(parser):
    parser.add_argument("--model", help="a checkpoint (default: the newest run's final.h5, else its best.h5)")
    parser.add_argument("--methods", default="all", metavar="A,B,...|all",
                        help="the methods the selector offers, comma-separated, or all (default)")
    parser.add_argument("--limit", type=positive, default=100, help="mistakes shown, most confident first (default 100)")
    parser.add_argument("--images", nargs="+", default=[], metavar="FILE", help="your own images, each explained "
                        "for its predicted class and the runner-up (an unreadable one stops the report before any work)")
    parser.add_argument("--faithfulness-images", type=whole_number(0), default=100, metavar="N",
                        help="score faithfulness on N images evenly spaced over the data (default 100; 0: skip)")
    parser.add_argument("--faithfulness", metavar="JSON", help="show a whole run instead: the output of "
                        "`explain.py faithfulness --json` on this data")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="seed of the faithfulness noise baseline "
                        "and random weights, and of PGD's random start (--robustness)")
    parser.add_argument("--audit", metavar="JSON", help="show a label audit: the audit.json `explain.py audit` wrote")
    parser.add_argument("--robustness", action="store_true", help="add the accuracy under attack (fgsm, pgd10, "
                        "pgd20 at eps 1, 2, 4, 8 grey levels, as `explain.py robustness`) to the accuracy section")
    parser.add_argument("--robustness-limit", type=positive, default=margins.ROBUSTNESS_IMAGES, metavar="N",
                        help=f"attack N images evenly spaced over the split (default {margins.ROBUSTNESS_IMAGES:,})")


def run(args):
    began = time.perf_counter()
    methods = parse_methods(args.methods)
    scores = faithfulness.read_scores(args.faithfulness) if args.faithfulness else None
    audit = training_data.audit_part(args.audit) if args.audit else None      # a bad file stops before any work
    out = out_dir(args)
    model = Model(args.model or newest_model(), args.data)
    data = load_labelled(args.data, args.split, cache_folder(args), model)
    users = np.array([load_image(path) for path in args.images], dtype=np.uint8) if args.images else None

    note = trained_on_note(model, data, args.split)
    x = model.input(data.images)
    evaluation = classify(model.net, x, data.labels)
    wrong = ranked_mistakes(evaluation)
    chosen = wrong[:args.limit]
    scoring = scores is None and args.faithfulness_images > 0
    attacks = len(margins.ATTACKS) * len(margins.EPS) if args.robustness else 0
    steps = len(methods) * (2 if users is not None else 1) + (len(methods) + 2 if scoring else 0) + 1 + attacks
    with tqdm(total=steps, desc="report", unit="step", file=sys.stderr, disable=None, leave=False) as bar:
        def step(name):
            bar.set_postfix_str(name)
            bar.update(1)
        mistakes = content.panels(model, data.images[chosen], x[chosen], evaluation.probs[chosen],
                                  content.mistake_pairs(evaluation, chosen), methods,
                                  [f"#{n}" for n in chosen], evaluation.labels[chosen], step=step)
        closeness, seconds = margins.mistake_margins(model, data.images[chosen], evaluation.labels[chosen],
                                                     evaluation.predicted[chosen])
        for card, found in zip(mistakes, closeness):
            card["closeness"] = margins_page.closeness_html(card, found)
        print(f"counterfactuals of {len(chosen):,} mistakes: {seconds:.1f} s")
        step("counterfactuals")
        robust = None
        if args.robustness:
            robust = margins.robustness_part(model, data.images, data.labels, args.robustness_limit, args.seed,
                                             progress=lambda name, eps: step(f"{name} eps {eps:g}"))
            print(f"robustness on {robust['sample']}: {robust['seconds']:.1f} s")
        if scoring:
            scores = faithfulness.scored_sample(model, data, x, methods, args.faithfulness_images, args.seed,
                                                step=step)
        elif scores is None:
            scores = {"skipped": "not scored (--faithfulness-images 0)"}
        influence, how = training_data.mistake_influence(model.path, data.images[chosen], evaluation.labels[chosen],
                                                         cache_folder(args), model.net, model.spec)
        for card, found in zip(mistakes, influence or []):
            card["influence"] = {side: [{**item, "name": model.names[item["label"]]} for item in items]
                                 for side, items in found.items()}
        if audit is not None:
            for row in audit["suspects"]:
                row.update(given_name=model.names[row["given"]], suggested_name=model.names[row["suggested"]])
        yours = None
        if users is not None:
            probs = model.net.predict_proba(model.input(users))
            yours = content.panels(model, users, model.input(users), probs, content.runner_up_pairs(probs),
                                   methods, [str(path) for path in args.images], step=step)
    parts = sections(model, data, evaluation, methods, mistakes, len(wrong), len(chosen), scores, yours, robust,
                     seconds)
    parts.insert(3, ("training-data", "The training data", "Which training images taught each mistake, and which "
                     "training labels look wrong.", page.training_data_html(how, audit)))
    title = f"npnet report: {model.path} on {data.source}"
    meta = (f"{len(data):,} images · {len(methods)} explanation method{'s' * (len(methods) != 1)} · written {time.strftime('%Y-%m-%d %H:%M')} "
            f"in {time.perf_counter() - began:.0f} s")
    header = page.e(meta) + (f'<br><strong class="trained-on">{page.e(note)}</strong>' if note else "")
    html = page.document(title, header, parts, "Every conv layer's feature maps for this image (after "
                         "the ReLU), one grey scale per layer: a black map is a filter that did not fire.")
    path = out / "report.html"
    write_text_atomic(path, html)
    wrote(path)
    print(f"{len(html.encode()) / 1e6:.1f} MB, {time.perf_counter() - began:.1f} s")
    return 0


def mistakes_html(cards, methods, total, shown, seconds=None):
    if not total:
        return '<p class="note">No image is misclassified.</p>'
    shown_text = (f"the {shown:,} most confident shown. {total - shown:,} more mistakes are not shown (--limit {shown})."
                  if total > shown else "all shown, most confident first.")
    found = "" if seconds is None else f" Their counterfactuals were found in {seconds:.1f} s."
    return (f'<p class="note" id="mistake-count" data-total="{total}" data-shown="{shown}">{total:,} mistakes; '
            f'{shown_text} Click an image for its feature maps.{found}</p>'
            + page.method_selector(methods) + page.cards_html(cards, methods))


def sections(model, data, evaluation, methods, mistakes, total, shown, scores, yours, robust=None, seconds=None):
    """The page's parts, in order: (id, heading, one line for a newcomer, HTML body). robust: the
    accuracy under attack (``margins.robustness_part``) or None; seconds: the counterfactuals' time."""
    parts = [("model", "The model", "What was trained: its layers and sizes, how images are prepared, and how "
              "training went.", page.model_html(content.model_part(model))),
             ("accuracy", "Accuracy", "How often the model is right, class by class, and which classes it mixes up"
              + (", and how often under attack." if robust else "."),
              page.accuracy_html(content.accuracy_part(model, data, evaluation), model.names)
              + margins_page.robustness_html(robust)),
             ("mistakes", "Mistakes", "The wrong predictions, most confident first. The heatmaps show where in the "
              "image a method finds the evidence for the true and for the predicted class (bright = more), both on "
              "the colour scale beside them. Below: why the predicted class and not the true one (red: for the "
              "predicted, blue: for the true), how small a change of the image makes the net say the true class, "
              "and that image.", mistakes_html(mistakes, methods, total, shown, seconds)),
             ("faithfulness", "Faithfulness", "Is an explanation right? Each method scored on the signs' own boxes "
              "and by removing pixels, beside baselines that know nothing of the net.", page.faithfulness_html(scores))]
    if yours is not None:
        parts.append(("yours", "Your images", "Each image you gave, explained for the class the model predicts and "
                      "for the runner-up.", page.method_selector(methods, "method-yours") + page.cards_html(yours, methods)))
    return parts
