#!/usr/bin/python3
"""confluent-kafka (librdkafka) idempotent acks=all producer for the cluster workload:
`producer_confluent.py BOOTSTRAP TOPIC REQUEST_TIMEOUT_MS CLIENT_ID`.

Prints {"ready": true} once the producer exists, then reads one command per stdin line,
`PARTITION VALUE`, sends that one value and waits for its delivery report before reading the
next, printing one JSON line per value:
  {"offset": N}                                          acknowledged at offset N
  {"error": {"code", "name", "message", "retriable", "fatal"}}   not acknowledged
It exits at the end of stdin (or on SIGTERM), flushing what is outstanding.
"""

import json
import signal
import sys

from confluent_kafka import KafkaException, Producer


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(err):
    return {
        "code": err.code(),
        "name": err.name(),
        "message": err.str(),
        "retriable": err.retriable(),
        "fatal": err.fatal(),
    }


def main():
    bootstrap, topic, timeout_ms, client_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(0))
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            # One value in flight; the whole send bounded like the other producers' (request
            # timeout plus a few retries).
            "request.timeout.ms": timeout_ms,
            "message.timeout.ms": timeout_ms * 3,
            "socket.timeout.ms": timeout_ms,
            "retry.backoff.ms": 100,
            "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    emit({"ready": True})
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        partition, value = line.split(" ", 1)
        outcome = {}

        def report(err, msg, outcome=outcome):
            if err is not None:
                outcome["error"] = describe(err)
            else:
                outcome["offset"] = msg.offset()

        try:
            producer.produce(topic, value=value.encode("utf-8"), partition=int(partition), on_delivery=report)
        except KafkaException as e:
            emit({"error": describe(e.args[0])})
            continue
        except BufferError as e:
            emit({"error": {"code": -1, "name": "BufferError", "message": str(e), "retriable": True, "fatal": False}})
            continue
        while not outcome:
            producer.poll(0.05)
        emit(outcome)
    producer.flush(timeout_ms / 1000)


main()
