#!/usr/bin/python3
"""kafka-python driver: `kafka_python_client.py BOOTSTRAP 'JSON-COMMAND'`.

Ops (every one also takes "timeout_ms", "api_version" ([major, minor, patch], skips the version
probe) and "config", extra keyword arguments for the kafka-python client):
  metadata        {"topics"?: [..]}
  produce         {"topic", "messages": [{"key"?, "value", "headers"?, "timestamp"?, "partition"?}],
                   "compression"?: none|gzip|snappy|lz4|zstd, "acks"?}
  consume         {"topic", "count", "from_beginning"? (default true), "partition"?, "group"?}
  create_topic    {"topic", "partitions"?, "replication_factor"?, "configs"?}
  delete_topic    {"topic"}
  describe_configs {"resource_type": topic|broker, "name"}
  alter_configs   {"resource_type": topic|broker, "name", "configs": {k: v}}
  list_offsets    {"topic", "partition"?, "spec"?: earliest|latest|<timestamp ms>}
  describe_group  {"group"}: state, protocol type and each member's client id and assigned partitions
  metadata_request {"topics": [..], "allow_auto_topic_creation"?: bool (default true), "repeat"?: n}
                  one Metadata v4 request per repeat through kafka-python's own network client; the
                  raw per-topic error codes and partition counts of every answer, in order
Prints one JSON line (see common.py).
"""

import logging
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import from_bytes, headers_in, headers_out, main, to_bytes  # noqa: E402

import kafka.errors as Errors  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, KafkaAdminClient, NewTopic  # noqa: E402

CLIENT = "kafka-python"

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


def timeout_ms(cmd, default=10000):
    return int(cmd.get("timeout_ms", default))


def common_kwargs(bootstrap, cmd):
    kw = {
        "bootstrap_servers": bootstrap,
        "client_id": "jocko-test-kafka-python",
        "api_version_auto_timeout_ms": int(cmd.get("api_version_auto_timeout_ms", 5000)),
    }
    if cmd.get("api_version") is not None:
        kw["api_version"] = tuple(cmd["api_version"])
    kw.update(cmd.get("config", {}))
    return kw


def error_info(e):
    name = getattr(type(e), "message", None) if isinstance(e, Errors.KafkaError) else None
    return {"type": type(e).__name__, "message": str(e), "code": getattr(e, "errno", None), "name": name}


def error_for(code, message=None):
    if code == 0:
        return None
    cls = Errors.for_code(code)
    return {"code": code, "name": getattr(cls, "message", cls.__name__), "message": message}


def admin_client(bootstrap, cmd):
    kw = common_kwargs(bootstrap, cmd)
    kw.setdefault("request_timeout_ms", timeout_ms(cmd))
    return KafkaAdminClient(**kw)


def metadata(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    try:
        cluster = admin.describe_cluster()
        topics = admin.describe_topics(cmd.get("topics") or None)
    finally:
        admin.close()
    return {
        "cluster_id": cluster.get("cluster_id"),
        "controller_id": cluster.get("controller_id"),
        "brokers": sorted(({"id": b["node_id"], "host": b["host"], "port": b["port"], "rack": b.get("rack")}
                           for b in cluster["brokers"]),
                          key=lambda b: b["id"]),
        "topics": {
            t["topic"]: {
                "error": error_for(t["error_code"]),
                "partitions": sorted(({"partition": p["partition"], "leader": p["leader"], "replicas": p["replicas"],
                                       "isrs": p["isr"], "error": error_for(p["error_code"])}
                                      for p in t["partitions"]), key=lambda p: p["partition"]),
            }
            for t in topics
        },
    }


def produce(bootstrap, cmd):
    if cmd.get("idempotent"):
        raise ValueError("kafka-python has no idempotent producer")
    kw = common_kwargs(bootstrap, cmd)
    compression = cmd.get("compression", "none")
    kw["compression_type"] = None if compression == "none" else compression
    acks = cmd.get("acks", "all")
    kw["acks"] = "all" if acks in ("all", -1, "-1") else int(acks)
    kw.setdefault("request_timeout_ms", timeout_ms(cmd))
    kw.setdefault("max_block_ms", timeout_ms(cmd))
    producer = KafkaProducer(**kw)
    try:
        futures = []
        for m in cmd["messages"]:
            kwargs = {"value": to_bytes(m.get("value"), m.get("value_b64"))}
            if "key" in m or "key_b64" in m:
                kwargs["key"] = to_bytes(m.get("key"), m.get("key_b64"))
            if m.get("headers") is not None:
                kwargs["headers"] = headers_in(m["headers"])
            if m.get("timestamp") is not None:
                kwargs["timestamp_ms"] = int(m["timestamp"])
            if m.get("partition") is not None:
                kwargs["partition"] = int(m["partition"])
            futures.append(producer.send(cmd["topic"], **kwargs))
        producer.flush(timeout=timeout_ms(cmd) / 1000.0)
        results = []
        for f in futures:
            try:
                md = f.get(timeout=timeout_ms(cmd) / 1000.0)
                results.append({"error": None, "partition": md.partition, "offset": md.offset, "timestamp": md.timestamp})
            except Exception as e:  # noqa: BLE001 - reported per message
                results.append({"error": error_info(e), "partition": None, "offset": None, "timestamp": None})
        return {"results": results}
    finally:
        producer.close(timeout=5)


def consume(bootstrap, cmd):
    kw = common_kwargs(bootstrap, cmd)
    group = cmd.get("group")
    from_beginning = cmd.get("from_beginning", True)
    kw.update({"group_id": group, "enable_auto_commit": False,
               "auto_offset_reset": "earliest" if from_beginning else "latest"})
    consumer = KafkaConsumer(**kw)
    topic = cmd["topic"]
    count = int(cmd["count"])
    deadline = time.monotonic() + timeout_ms(cmd) / 1000.0
    try:
        if group:
            consumer.subscribe([topic])
        else:
            if cmd.get("partition") is not None:
                partitions = [int(cmd["partition"])]
            else:
                partitions = consumer.partitions_for_topic(topic)
                if not partitions:
                    raise Errors.UnknownTopicOrPartitionError("no partitions known for topic %s" % topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            if from_beginning:
                consumer.seek_to_beginning(*tps)
            else:
                consumer.seek_to_end(*tps)
        messages = []
        while len(messages) < count and time.monotonic() < deadline:
            remaining_ms = max(10, int((deadline - time.monotonic()) * 1000))
            batches = consumer.poll(timeout_ms=min(500, remaining_ms))
            for tp in sorted(batches, key=lambda tp: tp.partition):
                for r in batches[tp]:
                    messages.append({
                        "topic": r.topic,
                        "partition": r.partition,
                        "offset": r.offset,
                        "key": from_bytes(r.key),
                        "value": from_bytes(r.value),
                        "headers": headers_out(r.headers),
                        "timestamp": r.timestamp,
                        "timestamp_type": {0: "create", 1: "log_append"}.get(r.timestamp_type, "none"),
                    })
        return {"messages": messages, "errors": [], "timed_out": len(messages) < count}
    finally:
        consumer.close(autocommit=False)


def create_topic(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    try:
        nt = NewTopic(cmd["topic"], int(cmd.get("partitions", 1)), int(cmd.get("replication_factor", 1)),
                      topic_configs=cmd.get("configs", {}))
        admin.create_topics([nt], timeout_ms=timeout_ms(cmd))
    finally:
        admin.close()
    return {"topics": {cmd["topic"]: {"error": None}}}


def delete_topic(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    try:
        admin.delete_topics([cmd["topic"]], timeout_ms=timeout_ms(cmd))
    finally:
        admin.close()
    return {"topics": {cmd["topic"]: {"error": None}}}


def resource(cmd, configs=None):
    rtype = cmd.get("resource_type", "topic")
    if rtype not in ("topic", "broker"):
        raise ValueError("resource_type must be topic or broker")
    return ConfigResource(rtype.upper(), str(cmd["name"]), configs=configs)


def raise_for(code, message):
    if code != 0:
        raise Errors.for_code(code)(message)


def describe_group(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    try:
        [info] = admin.describe_consumer_groups([cmd["group"]])
    finally:
        admin.close()
    raise_for(info.error_code, None)
    members = []
    for m in info.members:
        assignment = m.member_assignment
        partitions = []
        if assignment is not None and not isinstance(assignment, bytes):
            for topic, ps in assignment.assignment:
                partitions.extend([topic, p] for p in ps)
        members.append({"client_id": m.client_id, "partitions": sorted(partitions)})
    return {"state": info.state, "protocol_type": info.protocol_type, "members": members}


def describe_configs(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    try:
        responses = admin.describe_configs([resource(cmd)])
    finally:
        admin.close()
    configs = {}
    for response in responses:
        for r in response.to_object()["resources"]:
            raise_for(r["error_code"], r["error_message"])
            for e in r["config_entries"]:
                source = e.get("config_source")
                configs[e["config_names"]] = {
                    "value": e["config_value"],
                    # v0/v1 say is_default; v2+ give a source, 5 = DEFAULT_CONFIG
                    "is_default": e["is_default"] if "is_default" in e else source == 5,
                    "read_only": e["read_only"],
                    "sensitive": e["is_sensitive"],
                    "source": source,
                }
    return {"configs": dict(sorted(configs.items()))}


def alter_configs(bootstrap, cmd):
    admin = admin_client(bootstrap, cmd)
    configs = {k: str(v) for k, v in cmd["configs"].items()}
    try:
        response = admin.alter_configs([resource(cmd, configs=configs)])
    finally:
        admin.close()
    for r in response.to_object()["resources"]:
        raise_for(r["error_code"], r["error_message"])
    return {"altered": sorted(configs)}


def list_offsets(bootstrap, cmd):
    consumer = KafkaConsumer(**common_kwargs(bootstrap, cmd))
    topic = cmd["topic"]
    spec = cmd.get("spec", "latest")
    try:
        if cmd.get("partition") is not None:
            partitions = [int(cmd["partition"])]
        else:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                raise Errors.UnknownTopicOrPartitionError("no partitions known for topic %s" % topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if spec == "earliest":
            found = consumer.beginning_offsets(tps)
            out = [{"partition": tp.partition, "offset": found[tp]} for tp in tps]
        elif spec == "latest":
            found = consumer.end_offsets(tps)
            out = [{"partition": tp.partition, "offset": found[tp]} for tp in tps]
        else:
            found = consumer.offsets_for_times({tp: int(spec) for tp in tps})
            out = [{"partition": tp.partition,
                    "offset": found[tp].offset if found.get(tp) is not None else None,
                    "timestamp": found[tp].timestamp if found.get(tp) is not None else None} for tp in tps]
        return {"offsets": out}
    finally:
        consumer.close(autocommit=False)


def metadata_request(bootstrap, cmd):
    from kafka.client_async import KafkaClient
    from kafka.protocol.metadata import MetadataRequest

    client = KafkaClient(**common_kwargs(bootstrap, cmd))
    deadline = time.monotonic() + timeout_ms(cmd) / 1000.0
    try:
        node = None
        while node is None and time.monotonic() < deadline:
            node = client.least_loaded_node()
            if node is not None and not client.ready(node):
                client.poll(timeout_ms=100)
                node = node if client.is_ready(node) else None
        if node is None:
            raise Errors.NoBrokersAvailable("no broker became ready")
        answers = []
        for _ in range(int(cmd.get("repeat", 1))):
            request = MetadataRequest[4](topics=cmd["topics"],
                                         allow_auto_topic_creation=bool(cmd.get("allow_auto_topic_creation", True)))
            future = client.send(node, request)
            client.poll(future=future, timeout_ms=max(1, int((deadline - time.monotonic()) * 1000)))
            if not future.is_done:
                raise Errors.KafkaTimeoutError("no Metadata answer in time")
            if future.failed():
                raise future.exception
            topics = {}
            for t in future.value.topics:
                # v4 topic entries: (error_code, topic, is_internal, partitions)
                topics[t[1]] = {"error_code": t[0], "partitions": len(t[3])}
            answers.append(topics)
        return {"answers": answers}
    finally:
        client.close()


OPS = {
    "metadata": metadata,
    "produce": produce,
    "consume": consume,
    "create_topic": create_topic,
    "delete_topic": delete_topic,
    "describe_configs": describe_configs,
    "describe_group": describe_group,
    "alter_configs": alter_configs,
    "list_offsets": list_offsets,
    "metadata_request": metadata_request,
}

if __name__ == "__main__":
    main(CLIENT, OPS, error_info)
