// Print, one JSON object per line, every device definition of zigbee-herdsman-converters with
// what it exposes: {"model", "vendor", "aliases", "exposes": [[property, type, values, access], ...]}
// (binary exposes: values are [value_on, value_off]; access: 1 published, 2 settable, 4 readable).
// Run by scripts/z2m_coverage.py (which installs the package); usage: node z2m_exposes.cjs <node_modules>
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(process.argv[2] || "node_modules", "zigbee-herdsman-converters");
const zhc = require(root);
const devicesDir = path.join(root, "dist", "devices");

function flatten(exposes, out) {
    for (const e of exposes || []) {
        if (!e || typeof e !== "object") continue;
        const name = e.property || e.name;
        if (typeof name === "string") {
            const values = Array.isArray(e.values) ? e.values : e.type === "binary" ? [e.value_on, e.value_off] : [];
            const kept = values.filter((v) => ["string", "number", "boolean"].includes(typeof v));
            out.push([name, e.type || "", kept, typeof e.access === "number" ? e.access : 0]);
        }
        flatten(e.features, out);
    }
    return out;
}

function exposesOf(def) {
    let exposes = def.exposes;
    if (typeof exposes === "function") {
        try {
            exposes = exposes({isDummyDevice: true}, {});
        } catch (err) {
            return {error: String(err && err.message)};
        }
    }
    return {exposes: flatten(exposes, [])};
}

let count = 0;
for (const file of fs.readdirSync(devicesDir).sort()) {
    if (!file.endsWith(".js") || file === "index.js") continue;
    let mod;
    try {
        mod = require(path.join(devicesDir, file));
    } catch (err) {
        process.stderr.write(`cannot load ${file}: ${err && err.message}\n`);
        continue;
    }
    const defs = mod.definitions || (mod.default && mod.default.definitions) || [];
    for (const raw of defs) {
        let def;
        try {
            def = zhc.prepareDefinition(raw);
        } catch (err) {
            def = raw;
        }
        const aliases = (def.whiteLabel || []).map((w) => w && w.model).filter((m) => typeof m === "string");
        const fz = (def.fromZigbee || []).map((c) => c && c.cluster).filter(Boolean);
        const row = {file, model: def.model, vendor: def.vendor, description: def.description, aliases, clusters: [...new Set(fz)], ...exposesOf(def)};
        process.stdout.write(JSON.stringify(row) + "\n");
        count += 1;
    }
}
process.stderr.write(`${count} definitions\n`);
