#!/bin/sh
# Embed a text file (kernels.cl) into a C header as a NUL-terminated byte array.
# Usage: embed.sh INPUT SYMBOL > header.h
# Bytes, not a string literal: no escaping pitfalls and no compiler limit on
# string-literal length.
set -e
in="$1"
sym="$2"
if [ -z "$in" ] || [ -z "$sym" ] || [ ! -r "$in" ]; then
    echo "usage: $0 INPUT SYMBOL > OUTPUT.h (cannot read '$in')" >&2
    exit 1
fi
echo "/* Generated from $(basename "$in") by tools/embed.sh; do not edit. */"
echo "static const unsigned char ${sym}[] = {"
od -An -v -tu1 "$in" | awk '{ line = ""; for (i = 1; i <= NF; i++) line = line $i ","; print line }'
echo "0};"
