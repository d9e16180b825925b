#!/bin/sh
# Adds Edge Studio to the desktop's application menu for this user (no root needed).
# Run it from the unpacked folder; run it again after moving the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$here/edge-studio.svg" "$icons/edge-studio.svg"
sed -e "s|@EXEC@|\"$here/edge-studio\"|" -e "s|@ICON@|edge-studio|" "$here/edge-studio.desktop" > "$apps/edge-studio.desktop.tmp"
mv "$apps/edge-studio.desktop.tmp" "$apps/edge-studio.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" || true
echo "Edge Studio is in the application menu ($apps/edge-studio.desktop)."
echo "Check the installation with: \"$here/edge-studio\" --self-test"
