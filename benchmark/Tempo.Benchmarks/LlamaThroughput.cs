using System.Diagnostics;
using System.Globalization;

using LLama.Batched;
using LLama.Native;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Llama;
using Tempo.Scheduling;

namespace Tempo.Benchmarks;

/// <summary>
/// Real-model throughput: the same B greedy requests (P prompt tokens, N output tokens each) served three ways
/// on a generated random-weight model: (a) a hand-written LLamaSharp batched loop (prefill all, then one
/// batched decode per token), (b) EngineCore + sarathi + LlamaExecutor, (c) the engine serving them one at a
/// time. Prints generated tokens/s (wall time includes prefill) and the ratios b/a and b/c.
/// <c>dotnet run -c Release --project benchmark/Tempo.Benchmarks -- llama-throughput [--tokens 64] [--batch 8]
/// [--prompt 32] [--reps 3] [--layers 12] [--embd 1024] [--vocab 512] [--type q8_0] [--threads N] [--model FILE]
/// [--kv shared|per-sequence]</c>
/// </summary>
internal static class LlamaThroughput
{
    private static double LastEngineOverheadUs { get; set; }

    public static void Run(string[] args, TextWriter output)
    {
        var o = Parse(args);
        var shape = new GgufModelOptions { Layers = o.Layers, Embedding = o.Embedding, Vocabulary = o.Vocabulary, Context = 2048, Type = o.Type, Seed = 1 };
        var dir = Directory.CreateTempSubdirectory("tempo-llama-bench-").FullName;
        try
        {
            var path = o.ModelPath ?? Path.Combine(dir, "bench.gguf");
            var watch = Stopwatch.StartNew();
            if (!File.Exists(path))
            {
                GgufModelWriter.Write(path, shape);
            }

            var contextSize = Math.Max(512, NextPowerOfTwo(o.Batch * (o.Prompt + o.Tokens + 16)));
            using var model = LlamaModel.Load(path, o.Threads, contextSize, o.Kv);
            output.WriteLine(Invariant($"model: {path}, {model.ParameterCount / 1e6:0.0}M parameters, {model.SizeInBytes / 1048576.0:0.0} MiB ({o.Layers} layers, embd {o.Embedding}, {shape.HeadCount} heads, ff {shape.FeedForwardWidth}, vocab {model.VocabularySize}, {o.Type}); ready in {watch.Elapsed.TotalSeconds:0.0} s"));
            output.WriteLine(Invariant($"threads {model.Threads}, context {contextSize} cells ({model.KvLayout} KV), batch {o.Batch} x (prompt {o.Prompt} + {o.Tokens} generated), {o.Reps} repetitions, wall time includes prefill"));

            var config = model.EngineConfigFor(maxBatch: o.Batch, tokenBudget: o.Batch * o.Prompt);
            var specs = Requests(o);
            output.WriteLine(Invariant($"decode step at batch 1: {DecodeStepMs(model, config, specs[0]):0.0} ms (median of 32)"));

            // Warm-up: page the weights in and let the CPU settle.
            Engine(model, config, [specs[0] with { OutputTokens = 8 }], sequential: false);

            var raw = new List<double>();
            var engine = new List<double>();
            var oneByOne = new List<double>();
            for (var rep = 0; rep < o.Reps; rep++)
            {
                raw.Add(RawLoop(model, config, specs, o.Tokens));
                engine.Add(Engine(model, config, specs, sequential: false));
                oneByOne.Add(Engine(model, config, specs, sequential: true));
                output.WriteLine(Invariant($"  rep {rep + 1}: raw {raw[^1]:0.0}  engine {engine[^1]:0.0} (engine+scheduler outside the executor: {LastEngineOverheadUs:0} us/step)  one-at-a-time {oneByOne[^1]:0.0} tokens/s"));
            }

            var (r, e, s) = (Median(raw), Median(engine), Median(oneByOne));
            output.WriteLine(Invariant($"(a) raw BatchedExecutor loop, batch {o.Batch}: {r,7:0.0} tokens/s (median; best {raw.Max():0.0})"));
            output.WriteLine(Invariant($"(b) EngineCore + sarathi + LlamaExecutor: {e,7:0.0} tokens/s (median; best {engine.Max():0.0})"));
            output.WriteLine(Invariant($"(c) same requests one at a time:          {s,7:0.0} tokens/s (median; best {oneByOne.Max():0.0})"));
            output.WriteLine(Invariant($"medians: engine / raw = {e / r:0.00} (target >= 0.9); engine / one-at-a-time = {e / s:0.00} (target >= 2)"));
            output.WriteLine(Invariant($"best runs: engine / raw = {engine.Max() / raw.Max():0.00}; engine / one-at-a-time = {engine.Max() / oneByOne.Max():0.00}"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>(a) Prefill every prompt in one pass, then one batched decode pass per generated token.</summary>
    private static double RawLoop(LlamaModel model, EngineConfig config, List<RequestSpec> specs, int tokens)
    {
        using var executor = new BatchedExecutor(model.Weights, model.ContextParams(config.TokenBudget, config.MaxBatch));
        var conversations = specs.Select(_ => executor.Create()).ToArray();
        var held = new LLamaToken[specs.Count];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < specs.Count; i++)
        {
            conversations[i].Prompt(specs[i].PromptTokenIds!.Select(t => (LLamaToken)t).ToArray().AsSpan());
        }

        var generated = 0;
        for (var step = 0; step < tokens; step++)
        {
            if (step > 0)
            {
                for (var i = 0; i < conversations.Length; i++)
                {
                    conversations[i].Prompt(held[i]);
                }
            }

            var result = executor.Infer().GetAwaiter().GetResult();
            if (result != DecodeResult.Ok)
            {
                throw new InvalidOperationException($"decode failed: {result}");
            }

            for (var i = 0; i < conversations.Length; i++)
            {
                held[i] = ArgMax(conversations[i].Sample());
                generated++;
            }
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        foreach (var c in conversations)
        {
            c.Dispose();
        }

        return generated / seconds;
    }

    /// <summary>(b) all requests at once through the engine, or (c) one after another.</summary>
    private static double Engine(LlamaModel model, EngineConfig config, List<RequestSpec> specs, bool sequential)
    {
        using var executor = model.CreateExecutor(config);
        var scheduler = PolicyRegistry.Get("sarathi").Create(new SchedulerOptions { Engine = config });
        var engine = new EngineCore(config, scheduler, executor, new WallClock());
        var generated = 0;
        engine.TokenEmitted += (_, _) => generated++;
        var start = Stopwatch.GetTimestamp();
        foreach (var batch in sequential ? specs.Select(s => new[] { s }) : [specs.ToArray()])
        {
            foreach (var spec in batch)
            {
                engine.Submit(spec);
            }

            while (engine.HasWork)
            {
                engine.Step();
            }
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (!sequential)
        {
            // Time outside the executor: the engine's own bookkeeping and the scheduler's decisions.
            LastEngineOverheadUs = (seconds - engine.Stats.BusyS) / engine.Steps * 1e6;
        }

        var expected = specs.Sum(s => s.OutputTokens);
        return generated == expected ? generated / seconds : throw new InvalidOperationException($"engine generated {generated} tokens, expected {expected}");
    }

    private static double DecodeStepMs(LlamaModel model, EngineConfig config, RequestSpec spec)
    {
        using var executor = new BatchedExecutor(model.Weights, model.ContextParams(config.TokenBudget, config.MaxBatch));
        using var conversation = executor.Create();
        conversation.Prompt(spec.PromptTokenIds!.Select(t => (LLamaToken)t).ToArray().AsSpan());
        executor.Infer().GetAwaiter().GetResult();
        var times = new List<double>();
        for (var i = 0; i < 32; i++)
        {
            conversation.Prompt(ArgMax(conversation.Sample()));
            var t0 = Stopwatch.GetTimestamp();
            executor.Infer().GetAwaiter().GetResult();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }

        return Median(times);
    }

    private static List<RequestSpec> Requests(Options o)
    {
        // Fixed random prompts (no tokenizer involved): BOS, then ordinary tokens.
        var random = new Random(11);
        return [.. Enumerable.Range(0, o.Batch).Select(i =>
        {
            var ids = new int[o.Prompt];
            ids[0] = GgufVocabulary.Bos;
            for (var k = 1; k < ids.Length; k++)
            {
                ids[k] = random.Next(3, o.Vocabulary);
            }

            return new RequestSpec
            {
                Id = i,
                ArrivalS = 0,
                Class = RequestClass.Throughput,
                Slo = new Slo(10, 1, 100),
                PromptTokens = ids.Length,
                PromptTokenIds = ids,
                OutputTokens = o.Tokens,
                Sampling = new SamplingParams(IgnoreEos: true),
            };
        })];
    }

    private static LLamaToken ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    private static int NextPowerOfTwo(int x) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)x);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokens": o = o with { Tokens = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--batch": o = o with { Batch = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--prompt": o = o with { Prompt = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--reps": o = o with { Reps = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--layers": o = o with { Layers = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--embd": o = o with { Embedding = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--vocab": o = o with { Vocabulary = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--threads": o = o with { Threads = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--model": o = o with { ModelPath = value }; break;
                case "--kv": o = o with { Kv = value == "per-sequence" ? LlamaKvLayout.PerSequence : value == "shared" ? LlamaKvLayout.Shared : throw new ArgumentException($"--kv: shared or per-sequence, got {value}") }; break;
                case "--type":
                    o = o with
                    {
                        Type = value.ToLowerInvariant() switch
                        {
                            "f32" => GgufWeightType.F32,
                            "f16" => GgufWeightType.F16,
                            "q8_0" => GgufWeightType.Q8_0,
                            _ => throw new ArgumentException($"unknown type {value}"),
                        },
                    };
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }

            i++;
        }

        return o;
    }

    private sealed record Options
    {
        public int Tokens { get; init; } = 64;

        public int Batch { get; init; } = 8;

        public int Prompt { get; init; } = 32;

        public int Reps { get; init; } = 3;

        public int Layers { get; init; } = 12;

        public int Embedding { get; init; } = 1024;

        public int Vocabulary { get; init; } = 512;

        public GgufWeightType Type { get; init; } = GgufWeightType.Q8_0;

        public int? Threads { get; init; }

        public string? ModelPath { get; init; }

        public LlamaKvLayout Kv { get; init; } = LlamaKvLayout.Shared;
    }
}
