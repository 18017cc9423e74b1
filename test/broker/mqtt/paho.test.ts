// Python paho-mqtt (a second, independent client implementation) against the MQTT front-end,
// 3.1.1 and 5.0: retained delivery, QoS 0/1/2 publishes and deliveries, user properties. Skipped
// when paho is missing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mqttBroker } from './_util.js'

// The Debian python3-paho-mqtt package; the first python3 on PATH may be another interpreter.
const PYTHON = '/usr/bin/python3'
const script = fileURLToPath(new URL('./_paho_client.py', import.meta.url))
const probe = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' })
const skip = probe.status === 0 ? false : `paho-mqtt not importable by ${PYTHON} (apt-get install python3-paho-mqtt)`

function runPaho(port: number, version: 4 | 5): Promise<{ ok: boolean; subacks: number[][]; got: { topic: string; payload: string; qos: number; retain: boolean; props: { user?: string[][] } }[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, String(port), String(version)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`paho client exited with ${code}: ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() as string))
    })
  })
}

for (const version of [4, 5] as const) {
  test(`paho-mqtt ${version === 5 ? '5.0' : '3.1.1'}: retained, QoS 0/1/2, user properties`, { skip }, async (t) => {
    const b = await mqttBroker(t)
    const r = await runPaho(b.mqtt!.port, version)
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.deepEqual(r.subacks, [[2]])
    const byTopic = new Map(r.got.map((g) => [g.topic, g]))
    assert.deepEqual([byTopic.get('paho/retained')?.payload, byTopic.get('paho/retained')?.retain], ['kept', true])
    assert.deepEqual(['paho/q0', 'paho/q1', 'paho/q2'].map((tp) => [byTopic.get(tp)?.payload, byTopic.get(tp)?.qos]), [['qos0', 0], ['qos1', 1], ['qos2', 2]])
    assert.equal(r.got.length, 4)
    if (version === 5) assert.deepEqual(byTopic.get('paho/q1')?.props.user, [['k', 'v']])
  })
}
