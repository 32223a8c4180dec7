#!/usr/bin/env bash
# Installs Debian's Tesseract and its Norwegian language data for the OCR tests (tests/test_ocr.py) and
# `tiltak run --ocr`, if they are missing. The Python binding (tesserocr) comes with the project's `ocr` and `dev`
# extras. Needs root (or sudo); without it, says so and the OCR tests skip with that reason.
set -euo pipefail
if command -v tesseract >/dev/null 2>&1 && [ -n "$(find /usr/share/tesseract-ocr /usr/share/tessdata \
        -name nor.traineddata 2>/dev/null | head -n 1)" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "tests/install-ocr.sh: not root: install tesseract-ocr and tesseract-ocr-nor for the OCR tests" >&2
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/install-ocr.sh: no apt-get: install Tesseract and its Norwegian data (nor) for the OCR tests" >&2
    exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-nor >/dev/null
