#!/usr/bin/python3
"""confluent-kafka idempotent acks=all producer for leader-move tests:
`produce_stream_confluent.py BOOTSTRAP TOPIC PARTITIONS PREFIX MAX_SECONDS`.

Sends PREFIX-0, PREFIX-1, ... round-robin over the partitions, one every 20 ms, and prints one
JSON line per outcome:
  {"ok": [partition, offset, value]}               a delivery report without error
  {"failed": {"value", "code", "name", "message"}}  a delivery report with an error
  {"error": {"code", "name", "message", "fatal"}}  an error the client reported (error_cb)
On SIGTERM or after MAX_SECONDS it stops sending, flushes (10 s at most) and prints
{"done": true, "unflushed": n}.
"""

import json
import signal
import sys
import time

from confluent_kafka import Producer

stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def on_error(err):
    emit({"error": {"code": err.code(), "name": err.name(), "message": err.str(), "fatal": err.fatal()}})


def on_delivery(err, msg):
    value = msg.value().decode("utf-8")
    if err is not None:
        emit({"failed": {"value": value, "code": err.code(), "name": err.name(), "message": err.str()}})
    else:
        emit({"ok": [msg.partition(), msg.offset(), value]})


def main():
    bootstrap, topic, partitions, prefix, max_seconds = (
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        sys.argv[4],
        float(sys.argv[5]),
    )
    signal.signal(signal.SIGTERM, stop)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": "jocko-leader-move",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "socket.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
            "error_cb": on_error,
        }
    )
    deadline = time.monotonic() + max_seconds
    i = 0
    while not stopping and time.monotonic() < deadline:
        producer.produce(topic, value=f"{prefix}-{i}".encode("utf-8"), partition=i % partitions, on_delivery=on_delivery)
        i += 1
        producer.poll(0.02)
    emit({"done": True, "unflushed": producer.flush(10)})


main()
