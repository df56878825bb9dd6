"""The documentation's links, anchors and repository paths exist
(scripts/check_doc_links.py), and the checker catches a broken one."""
import subprocess
import sys

from conftest import REPO


def _check(root):
    return subprocess.run([sys.executable, 'scripts/check_doc_links.py',
                           str(root)], cwd=REPO, capture_output=True,
                          text=True)


def test_doc_links_exist():
    proc = _check(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checker_reports_a_broken_link(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'README.md').write_text(
        '# Title\n\n[ok](docs/page.md) [bad](docs/missing.md) '
        '[anchor](docs/page.md#nowhere) `tools/none.py`\n')
    (tmp_path / 'docs' / 'page.md').write_text('# Page\n')
    proc = _check(tmp_path)
    assert proc.returncode == 1
    for bad in ('docs/missing.md', 'nowhere', 'tools/none.py'):
        assert bad in proc.stdout + proc.stderr
