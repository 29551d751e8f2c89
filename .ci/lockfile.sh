#!/usr/bin/env bash
# Fails when a committed lockfile is out of date: when `npm install` would
# rewrite it, a fresh clone's first install leaves a diff behind.
set -u
status=0
for dir in . bench; do
  lock="$dir/package-lock.json"
  before=$(mktemp)
  cp "$lock" "$before"
  if ! npm install --prefix "$dir" --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null 2>&1; then
    echo "npm install --package-lock-only failed in $dir"
    status=1
  elif ! diff -q "$before" "$lock" >/dev/null; then
    echo "$lock is out of date: npm install rewrites it. Run npm install in $dir and commit the lockfile:"
    diff -u "$before" "$lock" | head -40
    status=1
  fi
  cp "$before" "$lock"
  rm -f "$before"
done
exit $status
