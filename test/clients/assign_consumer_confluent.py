#!/usr/bin/python3
"""confluent-kafka consumer by assignment (no group) for the cluster workload:
`assign_consumer_confluent.py BOOTSTRAP TOPIC PARTITIONS MAX_SECONDS`.

Assigns every partition from the beginning and prints one JSON line per delivery:
  {"records": [[partition, offset, value], ...]}   a consume() call's records, in order
  {"error": {"code", "name", "message"}}           an error the consumer reported
It stops on SIGTERM or after MAX_SECONDS, closing the consumer, and prints {"done": true}.
With JOCKO_RDKAFKA_DEBUG set (librdkafka debug contexts, e.g. "fetch,topic,metadata"), librdkafka's
debug log goes to the file JOCKO_RDKAFKA_DEBUG_FILE.
"""

import json
import logging
import os
import signal
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, topic, partitions, max_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    signal.signal(signal.SIGTERM, stop)
    extra = {}
    debug = os.environ.get("JOCKO_RDKAFKA_DEBUG")
    debug_file = os.environ.get("JOCKO_RDKAFKA_DEBUG_FILE")
    if debug and debug_file:
        log = logging.getLogger("rdkafka")
        log.setLevel(logging.DEBUG)
        handler = logging.FileHandler(debug_file)
        handler.setFormatter(logging.Formatter("%(created).3f %(message)s"))
        log.addHandler(handler)
        extra = {"debug": debug, "logger": log}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": "jocko-cluster-assign",
            "group.id": "unused-assign-only",
            "enable.auto.commit": False,
            "socket.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 500,
            "fetch.wait.max.ms": 300,
            "topic.metadata.refresh.interval.ms": 1000,
            **extra,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    deadline = time.monotonic() + max_seconds
    while not stopping and time.monotonic() < deadline:
        msgs = consumer.consume(num_messages=500, timeout=0.3)
        records = []
        for m in msgs:
            err = m.error()
            if err is not None:
                if records:
                    emit({"records": records})
                    records = []
                emit({"error": {"code": err.code(), "name": err.name(), "message": err.str()}})
                continue
            records.append([m.partition(), m.offset(), m.value().decode("utf-8")])
        if records:
            emit({"records": records})
    consumer.close()
    emit({"done": True})


main()
