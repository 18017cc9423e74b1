# Python paho-mqtt (Debian python3-paho-mqtt 1.6) against the broker, driven by paho.test.ts.
# Usage: _paho_client.py PORT VERSION(4|5). Prints one JSON line with what the client observed.
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

port = int(sys.argv[1])
v5 = sys.argv[2] == "5"
proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
got = []
lock = threading.Condition()


def on_message(_c, _u, msg):
    props = {}
    if v5 and hasattr(msg, "properties") and msg.properties is not None:
        up = getattr(msg.properties, "UserProperty", None)
        if up:
            props["user"] = [list(p) for p in up]
    with lock:
        got.append({"topic": msg.topic, "payload": msg.payload.decode(), "qos": msg.qos, "retain": bool(msg.retain), "props": props})
        lock.notify_all()


def make(cid):
    c = mqtt.Client(client_id=cid, protocol=proto)
    c.on_message = on_message
    if v5:
        c.connect("127.0.0.1", port, keepalive=30, clean_start=True)
    else:
        c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    return c


def wait(n, secs=5):
    end = time.time() + secs
    with lock:
        while len(got) < n and time.time() < end:
            lock.wait(end - time.time())
    return len(got) >= n


pub = make("paho-pub")
r = pub.publish("paho/retained", b"kept", qos=1, retain=True)
r.wait_for_publish(5)
sub = make("paho-sub")
subacks = []
done = threading.Event()


def on_subscribe(_c, _u, _mid, granted, *rest):
    subacks.append([getattr(g, "value", g) if not isinstance(g, int) else g for g in granted])
    done.set()


sub.on_subscribe = on_subscribe
sub.subscribe([("paho/#", 2)])
done.wait(5)
ok_retained = wait(1)
props = None
if v5:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("k", "v")
for q in (0, 1, 2):
    info = pub.publish("paho/q%d" % q, ("qos%d" % q).encode(), qos=q, properties=props) if v5 else pub.publish("paho/q%d" % q, ("qos%d" % q).encode(), qos=q)
    info.wait_for_publish(5)
ok = wait(4)
pub.disconnect()
sub.disconnect()
pub.loop_stop()
sub.loop_stop()
print(json.dumps({"ok": ok and ok_retained, "subacks": subacks, "got": got}))
