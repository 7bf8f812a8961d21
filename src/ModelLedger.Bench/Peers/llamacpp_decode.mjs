// llama.cpp decode peer for `mledger bench generate --peer llama.cpp`: loads a GGUF through node-llama-cpp's prebuilt
// CPU binaries (they ship the library only, no llama-bench), prefills random prompts, then decodes greedily with
// batch 1 and with B sequences in one context, with 1 and 2 threads (on a loaded machine ggml's spinning thread
// barriers make 2 threads many times slower than 1), and prints one JSON object on stdout. Installed on request into
// ~/.cache/mledger/peers/llamacpp (see package.json there); the product and the tests never need it.
//
// node llamacpp_decode.mjs --model m.gguf [--prompt-tokens 128] [--new-tokens 64] [--batches 1,8] [--kv f16,f32]
//                          [--threads 1,2] [--repeats 3] [--seed 1]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const options = parseArgs(process.argv.slice(2));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error,
    maxThreads: Math.max(...options.threads)});
const model = await llama.loadModel({modelPath: options.model, gpuLayers: 0});
const vocab = [...model.iterateAllTokens()].length;
const random = mulberry32(options.seed);
// Ids 0-2 are unk/bos/eos in Llama vocabularies; the same range mledger's own bench draws from.
const prompt = () => Array.from({length: options.promptTokens}, () => 3 + Math.floor(random() * (vocab - 3)));

const rows = [];
for (const kv of options.kv) {
    for (const batch of options.batches) {
        for (const threads of options.threads) {
            let best = null;
            for (let repeat = 0; repeat < options.repeats; repeat++) {
                const run = await measure(kv, batch, threads);
                if (best === null || run.decodeSeconds < best.decodeSeconds) best = run;
            }
            const row = {batch, kv_type: kv, threads};
            rows.push({scenario: "prefill", ...row, tokens: best.prefillTokens, seconds: best.prefillSeconds,
                tokens_per_second: best.prefillTokens / best.prefillSeconds});
            rows.push({scenario: "decode", ...row, tokens: best.decodeTokens, seconds: best.decodeSeconds,
                tokens_per_second: best.decodeTokens / best.decodeSeconds});
            log(`kv ${kv} batch ${batch} threads ${threads}: decode `
                + `${(best.decodeTokens / best.decodeSeconds).toFixed(1)} tokens/s`);
        }
    }
}
console.log(JSON.stringify({
    peer: "llama.cpp",
    node_llama_cpp: packageVersion("node-llama-cpp"),
    llama_cpp: `${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}`,
    build: llama.buildType,
    system_info: llama.systemInfo.trim(),
    model: options.model,
    vocab,
    prompt_tokens: options.promptTokens,
    new_tokens: options.newTokens,
    repeats: options.repeats,
    rows,
}));
await model.dispose();
await llama.dispose();

/** One fresh context: prefill all but the last prompt token of each sequence (timed as prefill), then time the
 * decode: each step feeds one token per sequence, the first being the last prompt token, so every timed step is a
 * batch of `batch` single tokens, as in mledger's own decode rows. Greedy (temperature 0); EOS does not stop it. */
async function measure(kv, batch, threads) {
    const context = await model.createContext({
        sequences: batch, contextSize: options.promptTokens + options.newTokens + 8,
        threads: {ideal: threads, min: threads},
        experimentalKvCacheKeyType: kv.toUpperCase(), experimentalKvCacheValueType: kv.toUpperCase(),
    });
    try {
        const sequences = Array.from({length: batch}, () => context.getSequence());
        const prompts = sequences.map(() => prompt());
        let start = process.hrtime.bigint();
        await Promise.all(sequences.map((s, i) => s.evaluateWithoutGeneratingNewTokens(prompts[i].slice(0, -1))));
        const prefillSeconds = seconds(start);
        start = process.hrtime.bigint();
        await Promise.all(sequences.map((s, i) => decode(s, prompts[i].at(-1))));
        const decodeSeconds = seconds(start);
        return {prefillTokens: batch * (options.promptTokens - 1), prefillSeconds,
            decodeTokens: batch * options.newTokens, decodeSeconds};
    } finally {
        await context.dispose();
    }
}

async function decode(sequence, lastPromptToken) {
    let generated = 0;
    for await (const _ of sequence.evaluate([lastPromptToken], {temperature: 0, yieldEogToken: true})) {
        if (++generated >= options.newTokens) break;
    }
}

// The package's own package.json (not in its "exports", so read from node_modules next to this script).
function packageVersion(name) {
    return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
}

function seconds(start) {
    return Number(process.hrtime.bigint() - start) / 1e9;
}

function parseArgs(args) {
    const parsed = {promptTokens: 128, newTokens: 64, batches: [1, 8], kv: ["f16"], threads: [1, 2], repeats: 3,
        seed: 1};
    const ints = (v) => v.split(",").map((s) => positive(s));
    for (let i = 0; i < args.length; i += 2) {
        const [name, value] = [args[i], args[i + 1]];
        if (value === undefined) fail(`${name} needs a value`);
        switch (name) {
            case "--model": parsed.model = value; break;
            case "--prompt-tokens": parsed.promptTokens = positive(value); break;
            case "--new-tokens": parsed.newTokens = positive(value); break;
            case "--batches": parsed.batches = ints(value); break;
            case "--kv": parsed.kv = value.split(",").map(kvType); break;
            case "--threads": parsed.threads = ints(value); break;
            case "--repeats": parsed.repeats = positive(value); break;
            case "--seed": parsed.seed = positive(value); break;
            default: fail(`unknown option ${name}`);
        }
    }
    if (!parsed.model) fail("--model is required");
    if (parsed.promptTokens < 2) fail("--prompt-tokens must be >= 2");
    return parsed;
}

function positive(text) {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) fail(`expected a positive integer, got '${text}'`);
    return n;
}

function kvType(text) {
    if (!["f16", "f32", "bf16", "q8_0"].includes(text)) fail(`--kv: f16, f32, bf16 or q8_0, got '${text}'`);
    return text;
}

function fail(message) {
    console.error(message);
    process.exit(2);
}

function log(message) {
    console.error(message);
}

// A small seeded PRNG so repeated runs feed the same prompts.
function mulberry32(seed) {
    return () => {
        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
