"""Check that the documentation's links and repository paths exist.

    python scripts/check_doc_links.py [ROOT]

Reads ``README.md``, every ``docs/**/*.md`` and every ``configs/**/README.md``
under ``ROOT`` (default: the repository) and checks

* every relative Markdown link and image ``[text](target)``: the target
  file or folder exists (relative to the page), and a ``#anchor`` into a
  Markdown page names one of its headings (GitHub's slug rule);
* every inline code span that is a repository path (it starts with
  ``configs/``, ``docs/``, ``mmecmt/``, ``scripts/``, ``tests/`` or
  ``tools/``, is one word and holds no placeholder such as ``<name>``,
  ``*``, ``...``, ``CONFIG``, ``CKPT`` or ``DIR``): that path exists
  (relative to ``ROOT``).

External links (``http:``, ``https:``, ``mailto:``) are not fetched. Prints
one line per problem and exits 1 when there is any, else prints the number
of links and paths checked and exits 0.
"""
import os
import os.path as osp
import re
import sys
from typing import Iterator, List, Tuple

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
CODE_SPAN = re.compile(r'`([^`\n]+)`')
FENCE = re.compile(r'^\s*```')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
PATH_ROOTS = ('configs/', 'docs/', 'mmecmt/', 'scripts/', 'tests/', 'tools/')
PLACEHOLDER = re.compile(r'[<>*{}$]|\.\.\.|\bCKPT\b|\bCONFIG\b|\bDIR\b')


def doc_files(root: str) -> List[str]:
    """README.md, docs/**/*.md and configs/**/README.md under ``root``."""
    files = [osp.join(root, 'README.md')]
    for top, name_ok in (('docs', lambda n: n.endswith('.md')),
                         ('configs', lambda n: n == 'README.md')):
        for folder, _, names in os.walk(osp.join(root, top)):
            files += [osp.join(folder, n) for n in sorted(names)
                      if name_ok(n)]
    return [f for f in files if osp.isfile(f)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation
    dropped (hyphens and underscores kept), spaces to hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links -> text
    text = text.lower().replace('`', '')
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path: str) -> set:
    """The heading anchors of a Markdown file (duplicates get -1, -2 ...)."""
    seen, found = {}, set()
    for line in prose_lines(path, keep_fenced=False):
        m = HEADING.match(line[1])
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            found.add(base if n == 0 else f'{base}-{n}')
            seen[base] = n + 1
    return found


def prose_lines(path: str, keep_fenced: bool
                ) -> Iterator[Tuple[int, str]]:
    """``(line number, line)`` of ``path``, without fenced code blocks
    unless ``keep_fenced``."""
    fenced = False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if keep_fenced or not fenced:
                yield number, line


def check_file(path: str, root: str) -> Tuple[List[str], int]:
    """(problems, number of checked links and paths) of one page."""
    problems, checked = [], 0
    here = osp.dirname(path)
    where = osp.relpath(path, root)
    for number, line in prose_lines(path, keep_fenced=False):
        for target in LINK.findall(line):
            if re.match(r'^[a-z]+:', target):
                continue
            checked += 1
            file_part, _, anchor = target.partition('#')
            dest = osp.normpath(osp.join(here, file_part)) if file_part \
                else path
            if not osp.exists(dest):
                problems.append(f'{where}:{number}: link target {target!r} '
                                'does not exist')
            elif anchor and dest.endswith('.md') and \
                    anchor not in anchors(dest):
                problems.append(f'{where}:{number}: no heading '
                                f'#{anchor} in {osp.relpath(dest, root)}')
        for span in CODE_SPAN.findall(LINK.sub('', line)):
            token = span.split()[0] if span.split() else ''
            if not token.startswith(PATH_ROOTS) or PLACEHOLDER.search(
                    span) or len(span.split()) > 1:
                continue
            checked += 1
            if not osp.exists(osp.join(root, token.rstrip('/'))):
                problems.append(f'{where}:{number}: path `{token}` does not '
                                'exist')
    return problems, checked


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = osp.abspath(argv[0] if argv else osp.join(
        osp.dirname(osp.abspath(__file__)), '..'))
    problems, checked = [], 0
    for path in doc_files(root):
        found, n = check_file(path, root)
        problems += found
        checked += n
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f'check_doc_links: {checked} links and paths checked, all exist')
    return 0


if __name__ == '__main__':
    sys.exit(main())
