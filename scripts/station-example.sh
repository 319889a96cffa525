#!/usr/bin/env bash
# A factory provisioning station, complete: create the CA once, then provision every attached
# nRF91 board in parallel, onboard them on nRF Cloud in bulk, and act on the exit code.
#
# The station is crash-safe: kill it (power cut, Ctrl-C, SIGKILL) and run this script again
# with the same JOURNAL; it finishes what was left, never re-keys a board that already has its
# certificate, and never uploads a device twice.
#
# Usage:
#   export NRF_PROVISION_CA_PASSPHRASE=…   # protects the CA key; keep it out of shell history
#   export NRF_CLOUD_API_KEY=…             # nRF Cloud team API key (not needed with ONBOARD=none)
#   scripts/station-example.sh
#
# Every setting below can be overridden from the environment, e.g.
#   PORTS=/dev/ttyACM0,/dev/ttyACM2 CONCURRENCY=4 scripts/station-example.sh
#   WATCH=1 scripts/station-example.sh     # keep running, provision boards as they are plugged in
set -euo pipefail

# How to run nrf-provision (an installed `nrf-provision`, `npx nrf-provision`, or a checkout).
NRF_PROVISION=${NRF_PROVISION:-nrf-provision}
# Everything this station keeps: the CA (back it up!), journals, logs, per-device files.
STATION_DIR=${STATION_DIR:-$HOME/nrf-provision-station}
CA_DIR=${CA_DIR:-$STATION_DIR/ca}
CA_NAME=${CA_NAME:-"Example Corp device CA"}
# One journal per production batch: rerunning with the same journal resumes that batch.
BATCH=${BATCH:-$(date +%Y%m%d)}
JOURNAL=${JOURNAL:-$STATION_DIR/journal-$BATCH.jsonl}
LOG=${LOG:-$STATION_DIR/station-$BATCH.log}
# `auto` = every attached nRF91 board (see `nrf-provision ports`), or a comma-separated list.
PORTS=${PORTS:-auto}
CONCURRENCY=${CONCURRENCY:-8}
# The device ID your firmware uses as its MQTT client ID: `imei` (nrf-<IMEI>) or `uuid`.
DEVICE_ID=${DEVICE_ID:-imei}
SEC_TAG=${SEC_TAG:-16842753}
ONBOARD=${ONBOARD:-batch}   # batch | single | none
WATCH=${WATCH:-0}

: "${NRF_PROVISION_CA_PASSPHRASE:?set NRF_PROVISION_CA_PASSPHRASE (the CA key passphrase)}"
if [[ $ONBOARD != none ]]; then
  : "${NRF_CLOUD_API_KEY:?set NRF_CLOUD_API_KEY (or ONBOARD=none)}"
fi

mkdir -p "$STATION_DIR"
read -r -a nrf_provision <<<"$NRF_PROVISION"

# 1. The CA, created once. Its key is encrypted with the passphrase; back up $CA_DIR.
if [[ ! -f $CA_DIR/ca.pem ]]; then
  echo "creating the CA in $CA_DIR"
  "${nrf_provision[@]}" ca init --dir "$CA_DIR" --cn "$CA_NAME"
fi

# 2. The station run. Events go to the log as JSON lines (one per step of each board).
args=(
  station
  --ports "$PORTS"
  --ca-dir "$CA_DIR"
  --journal "$JOURNAL"
  --concurrency "$CONCURRENCY"
  --device-id "$DEVICE_ID"
  --sec-tag "$SEC_TAG"
  --onboard "$ONBOARD"
  --save-dir "$STATION_DIR/devices"
  --jsonl
)
[[ $WATCH == 1 ]] && args+=(--watch)

echo "station: ports $PORTS, journal $JOURNAL, log $LOG"
# With WATCH=1 the station runs until Ctrl-C (SIGINT) or SIGTERM; it then finishes the boards
# in progress, uploads what is queued, and exits 130: that is how a watching station ends.
[[ $WATCH == 1 ]] && echo "watching for boards: plug them in; press Ctrl-C to stop"
set +e
"${nrf_provision[@]}" "${args[@]}" >>"$LOG"
status=$?
set -e

# 3. Act on the exit code (stable; see the README's "Exit codes").
case $status in
  0) echo "all boards provisioned and onboarded" ;;
  6)
    echo "some boards FAILED (the others are done); failures:"
    grep -E '"type":"board-failed"|"type":"onboarding-result".*"ok":false' "$LOG" | tail -n 50 || true
    echo "fix them (reconnect, replace the board) and run this script again: finished boards are skipped"
    ;;
  2) echo "usage error: check the settings at the top of $0" ;;
  3) echo "board or port problem before any board ran (no board found?): check 'nrf-provision ports'" ;;
  4) echo "CA problem: check $CA_DIR and NRF_PROVISION_CA_PASSPHRASE" ;;
  5) echo "nRF Cloud problem: check NRF_CLOUD_API_KEY and the network" ;;
  130)
    if [[ $WATCH == 1 ]]; then
      # The last run's summary: "boards succeeded failed".
      read -r boards succeeded failed < <(grep '"type":"station-end"' "$LOG" | tail -n 1 |
        sed -n 's/.*"summary":{"boards":\([0-9]*\),"succeeded":\([0-9]*\),"failed":\([0-9]*\).*/\1 \2 \3/p') || true
      echo "station stopped: ${succeeded:-0} of ${boards:-0} board(s) done, ${failed:-0} failure(s) (see $LOG)"
    else
      echo "interrupted: run this script again to finish the batch"
    fi
    ;;
  *) echo "station failed (exit $status): see $LOG" ;;
esac
exit "$status"
