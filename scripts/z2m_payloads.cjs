// Run zigbee-herdsman-converters' own fromZigbee converters on ZCL messages and print the payloads
// Zigbee2MQTT would publish, as JSON: used to make tests/data/z2m/payloads.json.
//   node scripts/z2m_payloads.cjs <node_modules> > tests/data/z2m/payloads.json
// The messages: IAS Zone status change notifications (ZCL 8.2.2.4.1, zone status bit 0 = alarm 1,
// bit 1 = alarm 2, bit 2 = tamper, bit 3 = battery low) and attribute reports of the clusters the
// definitions read.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(process.argv[2] || "node_modules", "zigbee-herdsman-converters");
const zhc = require(root);
const devicesDir = path.join(root, "dist", "devices");
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"))).version;

function definition(model) {
    for (const file of fs.readdirSync(devicesDir)) {
        if (!file.endsWith(".js")) continue;
        const defs = require(path.join(devicesDir, file)).definitions || [];
        const found = defs.find((d) => d.model === model);
        if (found) return zhc.prepareDefinition(found);
    }
    throw new Error(`no definition ${model}`);
}

const CASES = [
    // [name, model, cluster, type, data]
    ["bw_is9_wet", "BW-IS9", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 1, extendedstatus: 0}],
    ["bw_is9_dry", "BW-IS9", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 0, extendedstatus: 0}],
    ["adeo_83633206_wet", "83633206", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 1, extendedstatus: 0}],
    ["pulsar_lpc_v1_wet", "LPC-V1", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 9, extendedstatus: 0}],
    ["fds315_falling", "FDS315", "fallDetectionOwon", "attributeReport", {status: 5}],
    ["fds315_occupied", "FDS315", "fallDetectionOwon", "attributeReport", {status: 1}],
    ["heiman_hs1eb_single", "HS1EB/HS1EB-E", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 1, extendedstatus: 0}],
    ["heiman_hs1eb_release", "HS1EB/HS1EB-E", "ssIasZone", "commandStatusChangeNotification", {zonestatus: 0, extendedstatus: 0}],
];

async function run() {
    const out = {
        source: `zigbee-herdsman-converters@${version}, fromZigbee converters run by scripts/z2m_payloads.cjs`,
        payloads: {},
    };
    for (const [name, model, cluster, type, data] of CASES) {
        const def = definition(model);
        const device = {ieeeAddr: "0x00124b0000000001", modelID: model, manufacturerName: "", getEndpoint: () => ({ID: 1})};
        const meta = {device, logger: console, state: {}, deviceExposesChanged: () => {}};
        const msg = {data, endpoint: {ID: 1}, device, type, cluster, linkquality: 120, groupID: 0, meta: {}};
        let payload = {};
        for (const c of def.fromZigbee) {
            const clusters = Array.isArray(c.cluster) ? c.cluster : [c.cluster];
            const types = Array.isArray(c.type) ? c.type : [c.type];
            if (!clusters.includes(cluster) || !types.includes(type)) continue;
            const r = await c.convert(def, msg, () => {}, {}, meta);
            if (r) payload = {...payload, ...r};
        }
        out.payloads[name] = {model, cluster, type, data, payload};
    }
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}
run();
