#!/usr/bin/env bash
# update-po.sh - the agent's message catalog: extracts every marked string
# (_("..."), N_("..."), P_("one", "many", n)) from the files listed in
# po/POTFILES into po/tienbo.pot, then merges it into po/vi.po, where a
# translator fills in what is new (po/README.md).
#
#   scripts/update-po.sh          write po/tienbo.pot, update po/vi.po
#   scripts/update-po.sh --check  change nothing; exit 1, showing the
#                                 difference, when po/tienbo.pot is not
#                                 what the sources hold now (run by
#                                 tests/test_i18n.c)
#
# Needs GNU gettext (scripts/deps.sh). po/tienbo.pot is committed, so a
# translator needs no build; the check keeps it honest.
set -euo pipefail
cd "$(dirname "$0")/.."

# One place for the extraction: the marks of common/i18n.h.
extract() {
  xgettext --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
    --keyword=P_:1,2 --add-comments=TRANSLATORS: --package-name=tienbo \
    --msgid-bugs-address=tienbo@localhost --no-wrap \
    --files-from=po/POTFILES -o "$1"
}

# The messages of a catalog without its header or source lines, sorted,
# so two extractions compare equal when their strings do.
messages() {
  msgcat --no-location --no-wrap --sort-output "$1" | sed '1,/^$/d'
}

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  extract "$tmp/now.pot"
  if ! diff -u <(messages po/tienbo.pot) <(messages "$tmp/now.pot") \
      >"$tmp/diff"; then
    echo "po/tienbo.pot is out of date with the sources ('-' in the"
    echo "file, '+' in the sources); run scripts/update-po.sh and"
    echo "translate what is new in po/vi.po:"
    cat "$tmp/diff"
    exit 1
  fi
  echo "po/tienbo.pot: up to date"
  exit 0
fi

extract po/tienbo.pot
msgmerge --quiet --update --backup=none --no-wrap po/vi.po po/tienbo.pot
msgfmt --check --statistics -o /dev/null po/vi.po
