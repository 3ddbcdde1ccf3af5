"""download_gtsrb against a loopback HTTP server serving tiny archives built by the test."""

import hashlib
import http.server
import socket
import threading

import pytest

from npnet.data import download_gtsrb, load_gtsrb
from npnet.io.errors import DataError

SERVER_LIFETIME = 10  # seconds: the server shuts itself down even if a test hangs


class Routes(http.server.BaseHTTPRequestHandler):
    """Serves ``self.server.files`` (name -> bytes); a name in ``self.server.cut`` is cut off halfway."""

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append(name)
        if name not in self.server.files:
            self.send_error(404)
            return
        body = self.server.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.server.cut else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 (port 0: any free port) in a thread; yields it with ``url``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    httpd.files, httpd.cut, httpd.requests = {}, set(), []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/archives/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    timer = threading.Timer(SERVER_LIFETIME, httpd.shutdown)
    timer.start()
    yield httpd
    timer.cancel()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def archives(tmp_path, fixtures, server):
    """The three official archive names, holding a tiny release, served by ``server``; returns name -> MD5."""
    unpacked = fixtures.build_official(tmp_path / "unpacked", training_folder="GTSRB/Training")
    built = tmp_path / "built"
    built.mkdir()
    fixtures.zip_tree(unpacked, built / "GTSRB-Training_fixed.zip", only="GTSRB/Training")
    fixtures.zip_tree(unpacked, built / "GTSRB_Final_Test_Images.zip", only="GTSRB/Final_Test")
    fixtures.zip_tree(unpacked, built / "GTSRB_Final_Test_GT.zip", only="GT-final_test.csv")
    server.files = {path.name: path.read_bytes() for path in built.iterdir()}
    return {name: hashlib.md5(body).hexdigest() for name, body in server.files.items()}


def test_the_archives_are_downloaded_and_verified(tmp_path, server, archives):
    paths = download_gtsrb(tmp_path / "data", base_url=server.url, archives=archives, progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(archives)
    assert all(p.read_bytes() == server.files[p.name] for p in paths)


def test_an_archive_already_there_is_not_downloaded_again(tmp_path, server, archives):
    download_gtsrb(tmp_path / "data", base_url=server.url, archives=archives, progress=False)
    download_gtsrb(tmp_path / "data", base_url=server.url, archives=archives, progress=False)
    assert sorted(server.requests) == sorted(archives)


def test_a_wrong_md5_leaves_no_file_behind(tmp_path, server, archives):
    wrong = dict(archives, **{"GTSRB_Final_Test_GT.zip": "0" * 32})
    with pytest.raises(DataError, match=r"GTSRB_Final_Test_GT\.zip: MD5 \w+ does not match the expected 0{32}"):
        download_gtsrb(tmp_path / "data", base_url=server.url, archives=wrong, progress=False)
    assert not any("GTSRB_Final_Test_GT" in p.name for p in (tmp_path / "data").iterdir())


def test_a_download_cut_off_halfway_leaves_no_file_behind(tmp_path, server, archives):
    server.cut.add("GTSRB-Training_fixed.zip")
    with pytest.raises(DataError, match="cannot download"):
        download_gtsrb(tmp_path / "data", base_url=server.url, archives=archives, progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_a_missing_archive_on_the_server_raises_data_error(tmp_path, server, archives):
    server.files.pop("GTSRB_Final_Test_Images.zip")
    with pytest.raises(DataError, match=r"GTSRB_Final_Test_Images\.zip: cannot download \(Not Found\)"):
        download_gtsrb(tmp_path / "data", base_url=server.url, archives=archives, progress=False)
    assert not (tmp_path / "data/GTSRB_Final_Test_Images.zip").exists()


def test_an_unreachable_server_says_where_to_put_the_files_and_which_layouts_are_accepted(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError) as error:
        download_gtsrb(tmp_path / "data", base_url=f"http://127.0.0.1:{port}/", progress=False, timeout=2)
    message = str(error.value)
    assert f"put the GTSRB files in {tmp_path / 'data'} yourself" in message
    assert "train.p" in message and "GT-000NN.csv" in message and "Train.csv" in message
    assert list((tmp_path / "data").iterdir()) == []


def test_load_gtsrb_downloads_when_nothing_is_there_and_reads_the_archives(tmp_path, server, archives, fixtures):
    splits = load_gtsrb(tmp_path / "data", cache_dir=tmp_path / "cache", download=True, progress=False,
                        base_url=server.url, archives=archives)
    assert sorted(splits) == ["test", "train", "valid"]
    assert len(splits["test"]) == len(fixtures.TEST)


def test_load_gtsrb_does_not_download_when_data_is_there(tmp_path, server, archives, fixtures):
    fixtures.build_kaggle(tmp_path / "data")
    load_gtsrb(tmp_path / "data", cache_dir=tmp_path / "cache", download=True, progress=False,
               base_url=server.url, archives=archives)
    assert server.requests == []
