"""Download the official GTSRB archives, verified by MD5, without ever leaving a partial file as data.

Each archive is streamed to ``NAME.part`` with a progress bar while its MD5 is computed, and renamed to
``NAME`` only when the MD5 matches. A failed or corrupt download removes the ``.part`` file and raises a
``DataError``; when the server cannot be reached, the error says where to put the files by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from npnet.io.errors import DataError

BASE_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
ARCHIVES = {  # file name -> MD5
    "GTSRB-Training_fixed.zip": "513f3c79a4c5141765e10e952eaa2478",
    "GTSRB_Final_Test_Images.zip": "c7e4e6327067d32654124b0fe9e82185",
    "GTSRB_Final_Test_GT.zip": "fe31e9c9270bbcd7b84b7f21a9d9d9e5",
}
ACCEPTED_LAYOUTS = (
    "pickles (train.p, valid.p, test.p); "
    "the official release as folders or zips (Final_Training/Images/000NN/GT-000NN.csv, "
    "GTSRB/Training/000NN/, Training/000NN/, Final_Test/Images/ with GT-final_test.csv; "
    "GTSRB_Final_Training_Images.zip, GTSRB-Training_fixed.zip, GTSRB_Final_Test_Images.zip, "
    "GTSRB_Final_Test_GT.zip); "
    "the Kaggle mirror (Train.csv, Train/<id>/*.png, Test.csv, Test/*.png)"
)
CHUNK = 1 << 20


def download_gtsrb(
    folder, base_url: str = BASE_URL, archives: dict = ARCHIVES, progress: bool = True, timeout: float = 30
) -> list[Path]:
    """Download each of ``archives`` (name -> MD5) from ``base_url`` into ``folder``; returns their paths.

    Archives already in ``folder`` are kept (they only ever get their name after passing the MD5 check).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, md5 in archives.items():
        path = folder / name
        if not path.exists():
            _download(base_url.rstrip("/") + "/" + name, path, md5, progress, timeout)
        paths.append(path)
    return paths


def _download(url: str, path: Path, md5: str, progress: bool, timeout: float) -> None:
    """Stream ``url`` to ``path.part``, check its MD5, then rename it to ``path``."""
    part = path.with_name(path.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with tqdm(total=total, desc=path.name, unit="B", unit_scale=True, disable=not progress) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise DataError(f"{url}: cannot download (cut off after {received:,} of {total:,} bytes); try again")
        if digest.hexdigest() != md5:
            raise DataError(
                f"{url}: MD5 {digest.hexdigest()} does not match the expected {md5}; the download was discarded"
            )
        os.replace(part, path)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:  # HTTP errors, cut-offs, timeouts
        reason = getattr(error, "reason", None) or error
        raise DataError(
            f"{url}: cannot download ({reason}); put the GTSRB files in {path.parent} yourself. "
            f"Accepted layouts: {ACCEPTED_LAYOUTS}"
        ) from None
    finally:
        part.unlink(missing_ok=True)  # after a success it has already been renamed
