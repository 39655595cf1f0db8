#!/usr/bin/env python3
"""Checks of Roadie's translations (meson test suite "i18n").

  check-po.py potfiles SRCROOT
      po/POTFILES.in is sorted, has no duplicates, names only files that
      exist, and names every file under src/ and data/ with translatable
      strings, so a new file cannot be forgotten.

  check-po.py complete SRCROOT LANG
      po/LANG.po has no fuzzy and no untranslated message (msgfmt
      --statistics), and translates every message the sources have now: a
      fresh template made from POTFILES.in with the same xgettext options as
      i18n.gettext(preset: 'glib') is compared with msgcmp.
"""
import os
import re
import subprocess
import sys
import tempfile

# meson's i18n.gettext(preset: 'glib') options (mesonbuild/modules/i18n.py).
XGETTEXT_GLIB_PRESET = [
    '--from-code=UTF-8', '--add-comments',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format', '--flag=NC_:2:pass-c-format',
    '--flag=g_dngettext:2:pass-c-format', '--flag=g_strdup_printf:1:c-format',
    '--flag=g_string_printf:2:c-format', '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
    '--flag=g_markup_printf_escaped:1:c-format', '--flag=g_log:3:c-format',
    '--flag=g_print:1:c-format', '--flag=g_printerr:1:c-format', '--flag=g_printf:1:c-format',
    '--flag=g_fprintf:2:c-format', '--flag=g_sprintf:2:c-format', '--flag=g_snprintf:3:c-format',
]

# A gettext call with a literal: _("…"), N_ ("…"), C_ ("ctx", "…"), ngettext ("…", …).
C_MARKER = re.compile(r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_|ngettext|g_dngettext|g_dgettext|g_dpgettext2)\s*\(\s*"')


def needs_translation(path):
    name = os.path.basename(path)
    if name.endswith(('.desktop.in', '.metainfo.xml.in', '.appdata.xml.in')):
        return True
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        return False
    if name.endswith(('.c', '.h')):
        return C_MARKER.search(text) is not None
    if name.endswith('.ui'):
        return 'translatable="yes"' in text
    if name.endswith('.gschema.xml'):
        return 'gettext-domain=' in text
    return False


def read_potfiles(srcroot):
    with open(os.path.join(srcroot, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        return [line.strip() for line in f
                if line.strip() and not line.lstrip().startswith('#')]


def check_potfiles(srcroot):
    listed = read_potfiles(srcroot)
    problems = []
    if listed != sorted(listed):
        problems.append('po/POTFILES.in is not sorted (LC_ALL=C sort)')
    duplicates = sorted({p for p in listed if listed.count(p) > 1})
    problems += [f'po/POTFILES.in lists {p} more than once' for p in duplicates]
    problems += [f'po/POTFILES.in lists {p}, which does not exist'
                 for p in listed if not os.path.isfile(os.path.join(srcroot, p))]
    found = []
    for top in ('src', 'data'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(srcroot, top)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if needs_translation(path):
                    found.append(os.path.relpath(path, srcroot))
    problems += [f'{p} has translatable strings but is missing from po/POTFILES.in'
                 for p in found if p not in listed]
    for p in problems:
        print(p)
    print(f'{len(listed)} files listed, {len(found)} with translatable strings found')
    return 1 if problems else 0


def check_complete(srcroot, lang):
    po = os.path.join(srcroot, 'po', lang + '.po')
    stats = subprocess.run(['msgfmt', '--check', '--statistics', '-o', os.devnull, po],
                           capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))
    report = (stats.stdout + stats.stderr).strip()
    print(f'msgfmt --statistics {lang}.po: {report}')
    if stats.returncode != 0:
        return 1
    status = 0
    for kind in ('fuzzy', 'untranslated'):
        match = re.search(r'(\d+) ' + kind, report)
        if match and int(match.group(1)) > 0:
            print(f'{lang}.po has {match.group(1)} {kind} messages')
            status = 1
    if not re.search(r'\d+ translated', report):
        print(f'{lang}.po translates nothing')
        status = 1

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, 'roadie.pot')
        subprocess.run(['xgettext', '--package-name=roadie',
                        '-f', os.path.join(srcroot, 'po', 'POTFILES.in'),
                        '-D', srcroot, '-k_', '-o', pot] + XGETTEXT_GLIB_PRESET,
                       check=True, cwd=tmp)
        compare = subprocess.run(['msgcmp', po, pot], capture_output=True, text=True,
                                 env=dict(os.environ, LC_ALL='C'))
        if compare.returncode != 0:
            print(f'{lang}.po misses messages the sources have now '
                  '(meson compile roadie-update-po, then translate them):')
            print(compare.stdout + compare.stderr)
            status = 1
    return status


def main(argv):
    if len(argv) == 3 and argv[1] == 'potfiles':
        return check_potfiles(argv[2])
    if len(argv) == 4 and argv[1] == 'complete':
        return check_complete(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
