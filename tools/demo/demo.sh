#!/bin/sh
# make demo: the fake venue, the daemon and mdfeed-cat, offline on loopback.
#
#   make demo                  a synthetic Binance spot market (conf/demo.conf)
#   make demo VENUE=bitfinex   a synthetic Bitfinex market (conf/demo-bitfinex.conf)
#   make demo REPLAY=1         the recorded Binance spot traffic, looped, times moved to now
#                              (conf/demo-replay.conf)
#   DEMO_PORT=N DEMO_INSTANCE=NAME   another port and instance, so two demos can run side by side
#   LEVELS=N                   print N book levels a side instead of the best bid/ask and spread
#
# Ctrl-C stops all three, each once: the daemon ends STOPPED with exit 0. On a terminal this
# script uses job control: every part runs in a process group of its own and mdfeed-cat in the
# foreground, so the terminal's Ctrl-C reaches mdfeed-cat alone, which exits 0; the script then
# stops the venue and the daemon with one SIGTERM each, and make, never signalled, exits 0.
# Without a terminal (a pipe, a test) the venue and the daemon run in sessions of their own, a
# SIGINT to the whole group reaches mdfeed-cat and this shell, whose trap stops the other two.
# Logs: $B/demo-$DEMO_INSTANCE-{venue,daemon}.log.
set -u

b=${B:-build}
port=${DEMO_PORT:-19443}
inst=${DEMO_INSTANCE:-demo}
venue=${VENUE:-}
replay=${REPLAY:-}
levels=${LEVELS:-}
fixtures=tests/fixtures/binance-spot

case "$port" in '' | *[!0-9]*) echo "demo: DEMO_PORT=$port is not a port number" >&2; exit 2 ;; esac
case "$inst" in '' | *[!A-Za-z0-9_-]*)
    echo "demo: DEMO_INSTANCE=$inst: use letters, digits, '-' and '_'" >&2; exit 2 ;;
esac
if [ -n "$replay" ] && [ "$replay" != 0 ]; then
    [ -z "$venue" ] || [ "$venue" = binance ] || [ "$venue" = binance-spot ] ||
        { echo "demo: the recording is Binance spot traffic (drop VENUE=$venue)" >&2; exit 2; }
    what="the recorded Binance spot traffic of $fixtures, looped, times moved to now"
    conf=conf/demo-replay.conf
    set -- --replay $fixtures/ws.rec --rest $fixtures/http.rec --loop --replay-live
else
    case "$venue" in
    '' | binance | binance-spot)
        what="a synthetic Binance spot market"
        conf=conf/demo.conf
        set -- --market BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT --market-rate 2 ;;
    bitfinex)
        what="a synthetic Bitfinex market"
        conf=conf/demo-bitfinex.conf
        set -- --venue bitfinex --market-rate 2 ;;
    *) echo "demo: VENUE=$venue: binance or bitfinex" >&2; exit 2 ;;
    esac
fi
cat_opts=
if [ -n "$levels" ]; then
    cat_opts="--levels $levels"
fi

vlog=$b/demo-$inst-venue.log
dlog=$b/demo-$inst-daemon.log
dconf=$b/demo-$inst.conf
mkdir -p "$b"
sed -e "s/19443/$port/g" -e "s/^instance = .*/instance = \"$inst\";/" $conf > "$dconf" || exit 1

fv=
dm=
ct=
# Stops what runs, newest first, each with one SIGTERM, and says how each ended.
finish() {
    trap '' INT TERM HUP
    [ -z "$ct" ] || kill -TERM "$ct" 2>/dev/null
    [ -z "$ct" ] || wait "$ct" 2>/dev/null
    drc=0
    frc=0
    if [ -n "$dm" ]; then
        kill -TERM "$dm" 2>/dev/null
        wait "$dm"
        drc=$?
    fi
    if [ -n "$fv" ]; then
        kill -TERM "$fv" 2>/dev/null
        wait "$fv"
        frc=$?
    fi
    echo "demo: stopped: mdfeedd exit $drc, mdfeed-fakevenue exit $frc (logs: $dlog, $vlog)"
    [ "$drc" -eq 0 ] && [ "$frc" -eq 0 ] && exit 0
    exit 1
}
trap finish INT TERM HUP

# Job control on a terminal (see the top); `spawn` starts a part in the background accordingly.
jc=
if [ -t 0 ] && [ -t 1 ]; then
    set -m 2>/dev/null
    case $- in *m*) jc=1 ;; esac
fi
spawn() {
    if [ -n "$jc" ]; then
        "$@" &
    else
        setsid "$@" &
    fi
}

echo "demo: $what on 127.0.0.1:$port, instance \"$inst\"; Ctrl-C stops it"
spawn "$b/bin/mdfeed-fakevenue" --port "$port" "$@" > "$vlog" 2>&1
fv=$!
i=0
until grep -q '^listening\|listening ws' "$vlog" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$fv" 2>/dev/null; then
        echo "demo: the fake venue did not start (port $port in use?):" >&2
        tail -n 5 "$vlog" >&2
        finish
    fi
    sleep 0.05 || finish # on a terminal, Ctrl-C reaches this foreground sleep only
done
spawn "$b/bin/mdfeedd" -c "$dconf" 2> "$dlog"
dm=$!
echo "demo: mdfeedd runs (pid $dm); printing what readers see once its books are live"
# Start printing once the daemon runs with its books live (a few seconds at most), so what
# scrolls by is the live market, not the history a venue sends at subscription.
i=0
until top=$("$b/bin/mdfeed-top" -i "$inst" --json -n 1 -d 0.1 2>/dev/null) &&
    case "$top" in *'"state":"RUNNING"'*) true ;; *) false ;; esac &&
    [ "$(echo "$top" | sed -n 's/.*"n_books":\([0-9]*\),"n_books_live":\([0-9]*\).*/\1=\2/p')" = \
        "$(echo "$top" | sed -n 's/.*"n_books":\([0-9]*\),.*/\1=\1/p')" ]; do
    i=$((i + 1))
    if ! kill -0 "$dm" 2>/dev/null; then
        echo "demo: the daemon did not start:" >&2
        tail -n 5 "$dlog" >&2
        finish
    fi
    [ $i -lt 50 ] || break # about 10 s
    sleep 0.1 || finish
done
# On a terminal in the foreground, alone there; else in the background, so that this shell runs
# its trap at once when a signal comes.
# shellcheck disable=SC2086
"$b/bin/mdfeed-cat" -i "$inst" ticks candles books events -f $cat_opts &
ct=$!
if [ -n "$jc" ]; then
    fg %% > /dev/null
else
    wait "$ct"
fi
ct=
finish
