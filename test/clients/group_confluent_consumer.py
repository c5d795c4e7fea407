#!/usr/bin/python3
"""A long-running confluent-kafka (librdkafka) group member, driven over stdin and reporting on stdout.

    group_confluent_consumer.py BOOTSTRAP 'JSON-SETTINGS'

Settings: {"topic", "group", "config"?: {librdkafka properties}, "subscribe"? (default true),
           "commit"?: "sync" (default: commit each message synchronously before polling again) | "none"}

Prints one JSON object per line on stdout, each with an "event" and "ts" (time.monotonic() when it was
printed: CLOCK_MONOTONIC, one clock for every process on the machine, so events of different members
can be put in order):
  ready                                  the consumer exists (and has subscribed, unless subscribe is false)
  assign / revoke / lost {partitions}    a rebalance callback (incremental with cooperative-sticky)
  assignment {partitions}                the whole current assignment, whenever it changed
  message {partition, offset, key, value}
  commit {partition, offset, error}      a synchronous commit of `offset` (the next one to read)
  generation {generation, member_id}     from librdkafka's cgrp debug log (JoinGroup and SyncGroup)
  stats {rebalance_cnt, state, join_state, assignment_size}   from statistics.interval.ms
  error {code, name, message}            a consumer error (not partition EOF)
  committed {offsets: [{partition, offset, error}]}   the answer to the "committed" command
  closed                                 close() returned; the process then exits 0
Commands on stdin, one a line: "committed" (OffsetFetch for every partition of the topic),
"close" (close() the consumer and exit). End of input counts as "close".
Client logs go to stderr.
"""

import json
import logging
import os
import queue
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import from_bytes  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition  # noqa: E402

out_lock = threading.Lock()


def emit(event, **fields):
    fields["event"] = event
    with out_lock:
        fields["ts"] = time.monotonic()
        line = json.dumps(fields, default=str)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def kafka_error(err):
    if err is None:
        return None
    return {"code": err.code(), "name": err.name(), "message": err.str()}


def partitions_of(tps):
    return sorted(tp.partition for tp in tps)


# librdkafka's cgrp debug lines that carry the generation this member joined or synced with.
GENERATION = re.compile(r"(?:JoinGroup response|SyncGroup response).*?[Gg]eneration[ _]?[Ii]d:? ?(-?\d+)"
                        r"(?:.*?[Mm]ember[ _]?[Ii]d:? ?\"?([^\",\s]*))?")


class GenerationLog(logging.Handler):
    """Turns librdkafka's debug log into generation events; everything goes on to stderr too."""

    def __init__(self):
        super().__init__()
        self.last = None

    def emit(self, record):
        text = record.getMessage()
        sys.stderr.write(text + "\n")
        m = GENERATION.search(text)
        if m is not None:
            gen = int(m.group(1))
            if gen != self.last:
                self.last = gen
                emit("generation", generation=gen, member_id=m.group(2))


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
    commit_mode = settings.get("commit", "sync")

    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": settings["group"],
        "client.id": settings.get("client_id", "jocko-test-group-member"),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    conf.update(settings.get("config", {}))

    def on_stats(raw):
        cgrp = json.loads(raw).get("cgrp") or {}
        emit("stats", rebalance_cnt=cgrp.get("rebalance_cnt"), state=cgrp.get("state"),
             join_state=cgrp.get("join_state"), assignment_size=cgrp.get("assignment_size"))

    if "statistics.interval.ms" in conf:
        conf["stats_cb"] = on_stats
    kwargs = {}
    if "debug" in conf:
        log = logging.getLogger("librdkafka")
        log.setLevel(logging.DEBUG)
        log.addHandler(GenerationLog())
        log.propagate = False
        kwargs["logger"] = log

    consumer = Consumer(conf, **kwargs)

    def on_assign(c, tps):
        emit("assign", partitions=partitions_of(tps))

    def on_revoke(c, tps):
        emit("revoke", partitions=partitions_of(tps))

    def on_lost(c, tps):
        emit("lost", partitions=partitions_of(tps))

    if settings.get("subscribe", True):
        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
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
        if cmd == "committed":
            md = consumer.list_topics(topic=topic, timeout=10)
            tps = [TopicPartition(topic, p) for p in sorted(md.topics[topic].partitions)]
            got = consumer.committed(tps, timeout=10)
            emit("committed", offsets=[{"partition": tp.partition, "offset": tp.offset, "error": kafka_error(tp.error)}
                                       for tp in got])
        elif cmd is not None:
            emit("error", code=None, name="UNKNOWN_COMMAND", message="unknown command %r" % cmd)

        msg = consumer.poll(0.1)
        current = partitions_of(consumer.assignment())
        if current != last_assignment:
            last_assignment = current
            emit("assignment", partitions=current)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() != KafkaError._PARTITION_EOF:
                emit("error", **kafka_error(msg.error()))
            continue
        emit("message", partition=msg.partition(), offset=msg.offset(),
             key=from_bytes(msg.key()), value=from_bytes(msg.value()))
        if commit_mode == "sync":
            # Committed before the next poll(), which is where rebalance callbacks run: a message
            # is either committed or (if this fails) reported as such before its partition moves.
            try:
                consumer.commit(message=msg, asynchronous=False)
                emit("commit", partition=msg.partition(), offset=msg.offset() + 1, error=None)
            except KafkaException as e:
                err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
                emit("commit", partition=msg.partition(), offset=msg.offset() + 1,
                     error=kafka_error(err) if err is not None else {"code": None, "name": None, "message": str(e)})

    consumer.close()
    emit("closed")


if __name__ == "__main__":
    main()
