#!/bin/sh
# Render the sut/asterisk templates into DIR, ready for `asterisk -f -C DIR/asterisk.conf`.
# Usage: render.sh DIR [SIP_PORT [CARRIER_PORT]]; RTP_START, RTP_END, NO_ANSWER, SIP_DEBUG,
# MODULE_DIR and DATA_DIR come from the environment. The defaults are the ones profile.yaml names.
# test/support/asterisk.ts renders the same placeholders itself (with free ports).
set -eu
dir=${1:?usage: render.sh DIR [SIP_PORT [CARRIER_PORT]]}
here=$(cd "$(dirname "$0")" && pwd)
sip_port=${2:-5080}
carrier_port=${3:-5070}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
for f in asterisk.conf modules.conf sip.conf extensions.conf rtp.conf logger.conf; do
  sed -e "s|{{DIR}}|$dir|g" \
      -e "s|{{MODULE_DIR}}|${MODULE_DIR:-/usr/lib/asterisk/modules}|g" \
      -e "s|{{DATA_DIR}}|${DATA_DIR:-/usr/share/asterisk}|g" \
      -e "s|{{SIP_PORT}}|$sip_port|g" \
      -e "s|{{CARRIER_PORT}}|$carrier_port|g" \
      -e "s|{{RTP_START}}|${RTP_START:-20000}|g" \
      -e "s|{{RTP_END}}|${RTP_END:-20999}|g" \
      -e "s|{{NO_ANSWER}}|${NO_ANSWER:-20}|g" \
      -e "s|{{SIP_DEBUG}}|${SIP_DEBUG:-no}|g" \
      "$here/$f" > "$dir/$f"
  if grep -n '{{[A-Z_]*}}' "$dir/$f" >&2; then
    echo "render.sh: $f: placeholder left unfilled" >&2
    exit 1
  fi
done
for sub in lib agi spool run log cache; do mkdir -p "$dir/$sub"; done
echo "$dir"
