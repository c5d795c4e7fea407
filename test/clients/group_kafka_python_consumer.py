#!/usr/bin/python3
"""A long-running kafka-python group member, driven over stdin and reporting on stdout.

    group_kafka_python_consumer.py BOOTSTRAP 'JSON-SETTINGS'

Settings: {"topic", "group", "config"?: {KafkaConsumer keyword arguments}}

Each poll's records are committed synchronously (commit() with the next offset of every
partition in the batch) before the next poll, which is where rebalances happen.

Prints one JSON object per line on stdout, each with an "event":
  ready                                  the consumer exists and has subscribed
  assign / revoke {partitions}           a rebalance listener callback
  assignment {partitions}                the whole current assignment, whenever it changed
  message {partition, offset, key, value}
  commit {partition, offset, error}      a synchronous commit of `offset` (the next one to read)
  closed                                 close() returned; the process then exits 0
Commands on stdin, one a line: "close" (close the consumer, which leaves the group, and exit).
End of input counts as "close". Client logs go to stderr.
"""

import json
import logging
import os
import queue
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import from_bytes  # noqa: E402

import kafka.errors as Errors  # noqa: E402
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata  # noqa: E402

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()


def partitions_of(tps):
    return sorted(tp.partition for tp in tps)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit("revoke", partitions=partitions_of(revoked))

    def on_partitions_assigned(self, assigned):
        emit("assign", partitions=partitions_of(assigned))


def read_commands(q):
    for line in sys.stdin:
        cmd = line.strip()
        if cmd:
            q.put(cmd)
    q.put("close")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: %s BOOTSTRAP 'JSON-SETTINGS'\n" % sys.argv[0])
        sys.exit(2)
    bootstrap = sys.argv[1]
    settings = json.loads(sys.argv[2])
    topic = settings["topic"]
    kw = {
        "bootstrap_servers": bootstrap,
        "group_id": settings["group"],
        "client_id": settings.get("client_id", "jocko-test-kafka-python-member"),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "api_version_auto_timeout_ms": 5000,
    }
    kw.update(settings.get("config", {}))
    if isinstance(kw.get("api_version"), list):
        kw["api_version"] = tuple(kw["api_version"])
    consumer = KafkaConsumer(**kw)
    consumer.subscribe([topic], listener=Listener())
    emit("ready")

    commands = queue.Queue()
    threading.Thread(target=read_commands, args=(commands,), daemon=True).start()

    last_assignment = None
    while True:
        try:
            cmd = commands.get_nowait()
        except queue.Empty:
            cmd = None
        if cmd == "close":
            break
        if cmd is not None:
            emit("error", code=None, name="UNKNOWN_COMMAND", message="unknown command %r" % cmd)

        batches = consumer.poll(timeout_ms=100)
        current = partitions_of(consumer.assignment())
        if current != last_assignment:
            last_assignment = current
            emit("assignment", partitions=current)
        if not batches:
            continue
        offsets = {}
        for tp in sorted(batches, key=lambda tp: tp.partition):
            for r in batches[tp]:
                emit("message", partition=r.partition, offset=r.offset, key=from_bytes(r.key),
                     value=from_bytes(r.value))
                offsets[tp] = OffsetAndMetadata(r.offset + 1, None)
        error = None
        try:
            consumer.commit(offsets)
        except Errors.KafkaError as e:
            error = {"code": getattr(e, "errno", None), "name": type(e).__name__, "message": str(e)}
        for tp, om in sorted(offsets.items(), key=lambda kv: kv[0].partition):
            emit("commit", partition=tp.partition, offset=om.offset, error=error)

    consumer.close(autocommit=False)
    emit("closed")


if __name__ == "__main__":
    main()
