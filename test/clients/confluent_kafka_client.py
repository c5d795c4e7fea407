#!/usr/bin/python3
"""confluent-kafka (librdkafka) driver: `confluent_kafka_client.py BOOTSTRAP 'JSON-COMMAND'`.

Ops (every one also takes "timeout_ms" and "config", extra librdkafka properties):
  metadata        {"topics"?: [..]}
  produce         {"topic", "messages": [{"key"?, "value", "headers"?, "timestamp"?, "partition"?}],
                   "compression"?: none|gzip|snappy|lz4|zstd, "acks"?, "idempotent"?}
  consume         {"topic", "count", "from_beginning"? (default true), "partition"?, "group"?}
  create_topic    {"topic", "partitions"?, "replication_factor"?, "configs"?}
  delete_topic    {"topic"}
  describe_configs {"resource_type": topic|broker, "name"}
  alter_configs   {"resource_type": topic|broker, "name", "configs": {k: v}}
  list_offsets    {"topic", "partition"?, "spec"?: earliest|latest|<timestamp ms>}
Prints one JSON line (see common.py).
"""

import os
import sys
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import from_bytes, headers_in, headers_out, main, to_bytes  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic  # noqa: E402

CLIENT = "confluent-kafka"


def timeout_s(cmd, default_ms=10000):
    return cmd.get("timeout_ms", default_ms) / 1000.0


def base_config(bootstrap, cmd):
    conf = {"bootstrap.servers": bootstrap, "client.id": "jocko-test-confluent-kafka"}
    conf.update(cmd.get("config", {}))
    return conf


def kafka_error(err):
    if err is None:
        return None
    return {"code": err.code(), "name": err.name(), "message": err.str()}


def error_info(e):
    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        err = e.args[0]
        return {"type": type(e).__name__, "message": err.str(), "code": err.code(), "name": err.name()}
    return {"type": type(e).__name__, "message": str(e), "code": None, "name": None}


def metadata(bootstrap, cmd):
    admin = AdminClient(base_config(bootstrap, cmd))
    topics = cmd.get("topics")
    if topics:
        md_list = [admin.list_topics(topic=t, timeout=timeout_s(cmd)) for t in topics]
    else:
        md_list = [admin.list_topics(timeout=timeout_s(cmd))]
    md = md_list[0]
    out_topics = {}
    for m in md_list:
        for name, t in m.topics.items():
            out_topics[name] = {
                "error": kafka_error(t.error),
                "partitions": [
                    {"partition": p.id, "leader": p.leader, "replicas": list(p.replicas), "isrs": list(p.isrs),
                     "error": kafka_error(p.error)}
                    for p in sorted(t.partitions.values(), key=lambda p: p.id)
                ],
            }
    return {
        "cluster_id": md.cluster_id,
        "controller_id": md.controller_id,
        "orig_broker_id": md.orig_broker_id,
        "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in sorted(md.brokers.values(), key=lambda b: b.id)],
        "topics": out_topics,
    }


def produce(bootstrap, cmd):
    conf = base_config(bootstrap, cmd)
    conf.setdefault("compression.type", cmd.get("compression", "none"))
    if "acks" in cmd:
        conf["acks"] = str(cmd["acks"])
    if cmd.get("idempotent"):
        conf["enable.idempotence"] = True
    conf.setdefault("message.timeout.ms", int(cmd.get("timeout_ms", 10000)))
    producer = Producer(conf)
    topic = cmd["topic"]
    results = [None] * len(cmd["messages"])

    def on_delivery(index):
        def cb(err, msg):
            results[index] = {
                "error": kafka_error(err),
                "partition": msg.partition(),
                "offset": msg.offset() if err is None else None,
                "timestamp": msg.timestamp()[1] if err is None else None,
            }
        return cb

    for i, m in enumerate(cmd["messages"]):
        kwargs = {"value": to_bytes(m.get("value"), m.get("value_b64")), "on_delivery": on_delivery(i)}
        if "key" in m or "key_b64" in m:
            kwargs["key"] = to_bytes(m.get("key"), m.get("key_b64"))
        if m.get("headers") is not None:
            kwargs["headers"] = headers_in(m["headers"])
        if m.get("timestamp") is not None:
            kwargs["timestamp"] = int(m["timestamp"])
        if m.get("partition") is not None:
            kwargs["partition"] = int(m["partition"])
        producer.produce(topic, **kwargs)
        producer.poll(0)
    remaining = producer.flush(timeout_s(cmd) + 5)
    for i, r in enumerate(results):
        if r is None:
            results[i] = {"error": {"code": None, "name": "NOT_DELIVERED", "message": "no delivery report before timeout"},
                          "partition": None, "offset": None, "timestamp": None}
    return {"results": results, "undelivered": remaining}


def consume(bootstrap, cmd):
    conf = base_config(bootstrap, cmd)
    group = cmd.get("group")
    conf.setdefault("group.id", group or "jocko-test-" + uuid.uuid4().hex)
    conf.setdefault("enable.auto.commit", False)
    conf.setdefault("auto.offset.reset", "earliest" if cmd.get("from_beginning", True) else "latest")
    consumer = Consumer(conf)
    topic = cmd["topic"]
    count = int(cmd["count"])
    deadline = time.monotonic() + timeout_s(cmd)
    try:
        if group:
            consumer.subscribe([topic])
        else:
            start = confluent_kafka.OFFSET_BEGINNING if cmd.get("from_beginning", True) else confluent_kafka.OFFSET_END
            if cmd.get("partition") is not None:
                partitions = [int(cmd["partition"])]
            else:
                md = consumer.list_topics(topic=topic, timeout=timeout_s(cmd))
                t = md.topics[topic]
                if t.error is not None:
                    raise KafkaException(t.error)
                partitions = sorted(t.partitions)
            consumer.assign([TopicPartition(topic, p, start) for p in partitions])
        messages = []
        errors = []
        while len(messages) < count and time.monotonic() < deadline:
            msg = consumer.poll(min(0.5, max(0.01, deadline - time.monotonic())))
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(kafka_error(msg.error()))
                continue
            ts_type, ts = msg.timestamp()
            messages.append({
                "topic": msg.topic(),
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": from_bytes(msg.key()),
                "value": from_bytes(msg.value()),
                "headers": headers_out(msg.headers()),
                "timestamp": ts,
                "timestamp_type": {confluent_kafka.TIMESTAMP_CREATE_TIME: "create",
                                   confluent_kafka.TIMESTAMP_LOG_APPEND_TIME: "log_append"}.get(ts_type, "none"),
            })
        return {"messages": messages, "errors": errors, "timed_out": len(messages) < count}
    finally:
        consumer.close()


def wait_futures(futures, cmd):
    out = {}
    for name, f in futures.items():
        try:
            f.result(timeout=timeout_s(cmd))
            out[str(name)] = {"error": None}
        except KafkaException as e:
            out[str(name)] = {"error": error_info(e)}
    return out


def create_topic(bootstrap, cmd):
    admin = AdminClient(base_config(bootstrap, cmd))
    nt = NewTopic(cmd["topic"], num_partitions=int(cmd.get("partitions", 1)),
                  replication_factor=int(cmd.get("replication_factor", 1)), config=cmd.get("configs", {}))
    futures = admin.create_topics([nt], operation_timeout=timeout_s(cmd), request_timeout=timeout_s(cmd))
    return {"topics": wait_futures(futures, cmd)}


def delete_topic(bootstrap, cmd):
    admin = AdminClient(base_config(bootstrap, cmd))
    futures = admin.delete_topics([cmd["topic"]], operation_timeout=timeout_s(cmd), request_timeout=timeout_s(cmd))
    return {"topics": wait_futures(futures, cmd)}


def resource(cmd, set_config=None):
    rtype = cmd.get("resource_type", "topic")
    if rtype not in ("topic", "broker"):
        raise ValueError("resource_type must be topic or broker")
    return ConfigResource(rtype, str(cmd["name"]), set_config=set_config)


def describe_configs(bootstrap, cmd):
    admin = AdminClient(base_config(bootstrap, cmd))
    futures = admin.describe_configs([resource(cmd)], request_timeout=timeout_s(cmd))
    (f,) = futures.values()
    entries = f.result(timeout=timeout_s(cmd))
    return {"configs": {
        name: {"value": e.value, "is_default": e.is_default, "read_only": e.is_read_only,
               "sensitive": e.is_sensitive, "source": ConfigSource(e.source).name}
        for name, e in sorted(entries.items())
    }}


def alter_configs(bootstrap, cmd):
    admin = AdminClient(base_config(bootstrap, cmd))
    configs = {k: str(v) for k, v in cmd["configs"].items()}
    futures = admin.alter_configs([resource(cmd, set_config=configs)], request_timeout=timeout_s(cmd))
    (f,) = futures.values()
    f.result(timeout=timeout_s(cmd))
    return {"altered": sorted(configs)}


def list_offsets(bootstrap, cmd):
    conf = base_config(bootstrap, cmd)
    conf.setdefault("group.id", "jocko-test-" + uuid.uuid4().hex)
    consumer = Consumer(conf)
    topic = cmd["topic"]
    spec = cmd.get("spec", "latest")
    try:
        if cmd.get("partition") is not None:
            partitions = [int(cmd["partition"])]
        else:
            md = consumer.list_topics(topic=topic, timeout=timeout_s(cmd))
            t = md.topics[topic]
            if t.error is not None:
                raise KafkaException(t.error)
            partitions = sorted(t.partitions)
        out = []
        if spec in ("earliest", "latest"):
            for p in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s(cmd), cached=False)
                out.append({"partition": p, "offset": low if spec == "earliest" else high})
        else:
            tps = consumer.offsets_for_times([TopicPartition(topic, p, int(spec)) for p in partitions],
                                             timeout=timeout_s(cmd))
            for tp in tps:
                out.append({"partition": tp.partition, "offset": tp.offset, "error": kafka_error(tp.error)})
        return {"offsets": out}
    finally:
        consumer.close()


OPS = {
    "metadata": metadata,
    "produce": produce,
    "consume": consume,
    "create_topic": create_topic,
    "delete_topic": delete_topic,
    "describe_configs": describe_configs,
    "alter_configs": alter_configs,
    "list_offsets": list_offsets,
}

if __name__ == "__main__":
    main(CLIENT, OPS, error_info)
