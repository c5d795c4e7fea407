#!/usr/bin/python3
"""confluent-kafka (librdkafka) transactions driver: `txn_confluent_kafka.py BOOTSTRAP 'JSON-COMMAND'`.

Ops (every one also takes "timeout_ms" and "config", extra librdkafka properties):
  transactions {"topic", "transactional_id", "transactions": [{"messages": [{"key"?, "value", "partition"?}],
                "commit": bool}], "txn_timeout_ms"?}  runs the transactions one after the other
  read_all     {"topic", "isolation": read_committed|read_uncommitted}  every message up to the end
               of each partition (the last stable offset for read_committed)
  ctp          {"input", "output", "group", "transactional_id", "count", "commit": bool}
               consume-transform-produce: `count` messages from `input` (group `group`), their values
               prefixed with "T:" to `output`, the consumer's positions sent to the transaction
  zombie       {"topic", "transactional_id"}  a producer fenced by a second one with the same id
  open         {"topic", "transactional_id", "messages", "txn_timeout_ms"?}  leaves a transaction
               open: produces, flushes, replies and exits without committing or aborting
Prints one JSON line (see common.py).
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import from_bytes, main, reply, to_bytes  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402

CLIENT = "confluent-kafka"


def timeout_s(cmd, default_ms=20000):
    return cmd.get("timeout_ms", default_ms) / 1000.0


def base_config(bootstrap, cmd):
    conf = {"bootstrap.servers": bootstrap, "client.id": "jocko-test-txn"}
    conf.update(cmd.get("config", {}))
    return conf


def kafka_error(err):
    if err is None:
        return None
    return {"code": err.code(), "name": err.name(), "message": err.str(), "fatal": err.fatal()}


def error_info(e):
    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        err = e.args[0]
        return {"type": type(e).__name__, "message": err.str(), "code": err.code(), "name": err.name()}
    return {"type": type(e).__name__, "message": str(e), "code": None, "name": None}


def txn_producer(bootstrap, cmd, transactional_id):
    conf = base_config(bootstrap, cmd)
    conf["transactional.id"] = transactional_id
    conf["transaction.timeout.ms"] = cmd.get("txn_timeout_ms", 60000)
    p = Producer(conf)
    p.init_transactions(timeout_s(cmd))
    return p


def send(p, topic, messages):
    for m in messages:
        kwargs = {"value": to_bytes(m.get("value")), "key": to_bytes(m.get("key"))}
        if m.get("partition") is not None:
            kwargs["partition"] = int(m["partition"])
        p.produce(topic, **kwargs)


def transactions(bootstrap, cmd):
    p = txn_producer(bootstrap, cmd, cmd["transactional_id"])
    done = []
    for t in cmd["transactions"]:
        p.begin_transaction()
        send(p, cmd["topic"], t["messages"])
        if t["commit"]:
            p.commit_transaction(timeout_s(cmd))
        else:
            # Flushed first: an abort purges what is still queued, and the test wants aborted data in the log.
            p.flush(timeout_s(cmd))
            p.abort_transaction(timeout_s(cmd))
        done.append("committed" if t["commit"] else "aborted")
    return {"transactions": done}


def read_all(bootstrap, cmd):
    conf = base_config(bootstrap, cmd)
    conf.update({"group.id": "jocko-txn-read", "enable.auto.commit": False, "enable.partition.eof": True,
                 "isolation.level": cmd["isolation"]})
    consumer = Consumer(conf)
    topic = cmd["topic"]
    try:
        md = consumer.list_topics(topic=topic, timeout=timeout_s(cmd))
        partitions = sorted(md.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions])
        at_end = set()
        messages = []
        deadline = time.monotonic() + timeout_s(cmd)
        while len(at_end) < len(partitions) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    continue
                raise KafkaException(msg.error())
            at_end.discard(msg.partition())
            messages.append({"partition": msg.partition(), "offset": msg.offset(), "key": from_bytes(msg.key()),
                             "value": from_bytes(msg.value())})
        return {"messages": messages, "timed_out": len(at_end) < len(partitions)}
    finally:
        consumer.close()


def ctp(bootstrap, cmd):
    cconf = base_config(bootstrap, cmd)
    cconf.update({"group.id": cmd["group"], "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed"})
    consumer = Consumer(cconf)
    p = txn_producer(bootstrap, cmd, cmd["transactional_id"])
    count = int(cmd["count"])
    deadline = time.monotonic() + timeout_s(cmd)
    try:
        consumer.subscribe([cmd["input"]])
        consumed = []
        while len(consumed) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            consumed.append(msg)
        if len(consumed) < count:
            raise RuntimeError("consumed %d of %d messages" % (len(consumed), count))
        p.begin_transaction()
        for msg in consumed:
            p.produce(cmd["output"], key=msg.key(), value=b"T:" + msg.value())
        positions = consumer.position(consumer.assignment())
        p.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), timeout_s(cmd))
        if cmd["commit"]:
            p.commit_transaction(timeout_s(cmd))
        else:
            p.flush(timeout_s(cmd))
            p.abort_transaction(timeout_s(cmd))
        return {"consumed": len(consumed),
                "positions": sorted([[tp.partition, tp.offset] for tp in positions])}
    finally:
        consumer.close()


def zombie(bootstrap, cmd):
    topic = cmd["topic"]
    old = txn_producer(bootstrap, cmd, cmd["transactional_id"])
    old.begin_transaction()
    send(old, topic, [{"value": "zombie-1", "partition": 0}])
    old.flush(timeout_s(cmd))
    # A second instance with the same transactional id fences the first and aborts its transaction.
    new = txn_producer(bootstrap, cmd, cmd["transactional_id"])
    zombie_error = None
    try:
        send(old, topic, [{"value": "zombie-2", "partition": 0}])
        old.commit_transaction(timeout_s(cmd))
    except KafkaException as e:
        zombie_error = kafka_error(e.args[0])
    new.begin_transaction()
    send(new, topic, [{"value": "fresh", "partition": 0}])
    new.commit_transaction(timeout_s(cmd))
    return {"zombie_error": zombie_error}


def open_txn(bootstrap, cmd):
    p = txn_producer(bootstrap, cmd, cmd["transactional_id"])
    p.begin_transaction()
    send(p, cmd["topic"], cmd["messages"])
    remaining = p.flush(timeout_s(cmd))
    reply(CLIENT, "open", result={"unflushed": remaining})
    # Leave without ending the transaction (as a crashed producer would).
    os._exit(0)


if __name__ == "__main__":
    main(CLIENT, {"transactions": transactions, "read_all": read_all, "ctp": ctp, "zombie": zombie,
                  "open": open_txn}, error_info)
