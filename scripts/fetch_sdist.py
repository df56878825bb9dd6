"""Download one source distribution from PyPI and check its sha256.

Usage: python fetch_sdist.py NAME VERSION SHA256 DEST_DIR

``pip download --no-binary`` would try to build the package's metadata, which
for mmcv needs torch inside an isolated build; reading PyPI's simple index
(JSON form) avoids that.
"""
import hashlib
import json
import os
import sys
import urllib.request


def main(name: str, version: str, sha256: str, dest: str) -> None:
    index = os.environ.get('MMECMT_SIMPLE_INDEX', 'https://pypi.org/simple')
    req = urllib.request.Request(
        f'{index}/{name}/',
        headers={'Accept': 'application/vnd.pypi.simple.v1+json'})
    with urllib.request.urlopen(req, timeout=120) as resp:
        files = json.load(resp)['files']
    filename = f'{name}-{version}.tar.gz'
    matches = [f for f in files if f['filename'] == filename]
    if not matches:
        raise SystemExit(f'{filename} is not on {index}/{name}/')
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, filename)
    urllib.request.urlretrieve(matches[0]['url'], path)
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != sha256:
        raise SystemExit(f'{path}: sha256 {digest} != expected {sha256}')
    print(f'downloaded {path}')


if __name__ == '__main__':
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
