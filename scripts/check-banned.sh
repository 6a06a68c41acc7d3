#!/usr/bin/env bash
# check-banned.sh - refuse C functions that are easy to misuse (as curl's
# checksrc does): unbounded copies and formatting, unchecked number parsing,
# non-reentrant tokenising. Run by ctest as "banned_functions".
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(sprintf|vsprintf|strcpy|strcat|stpcpy|atoi|atol|atoll|atof|gets|strtok|tmpnam|mktemp)[[:space:]]*\('
if hits=$(grep -nE "$pattern" --include='*.c' --include='*.h' -r common protocol agent server tests bench 2>/dev/null); then
  echo "banned functions used (use snprintf, memcpy, strtoll with checks, strtok_r, mkstemp):"
  echo "$hits"
  exit 1
fi
echo "banned_functions: none found"
