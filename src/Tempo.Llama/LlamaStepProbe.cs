using System.Diagnostics;

using LLama.Batched;
using LLama.Native;

using Tempo.Core;

namespace Tempo.Llama;

/// <summary>
/// Times engine-shaped steps on a real model for calibration: a decode batch of B sequences at context K, one
/// prefill chunk of c tokens over k cached tokens, or both together. Each timing covers what
/// <see cref="LlamaExecutor"/> does in a step (prompt every sequence with its tokens, one <c>llama_decode</c>,
/// sample every sequence that produces a token) with the same context parameters, so the numbers are the real
/// engine's step latency. Building the contexts (prefilling K tokens per sequence) is not timed. Not thread-safe.
/// </summary>
public sealed class LlamaStepProbe : IDisposable
{
    private readonly LlamaModel _model;
    private readonly BatchedExecutor _executor;
    private readonly TokenSampler _sampler = new(SamplingParams.Greedy);
    private readonly int _tokenBudget;
    private readonly int _firstId;
    private readonly int _idRange;
    private int _nextToken;

    /// <summary>
    /// A probe with the context an executor of <paramref name="maxBatch"/> sequences and a
    /// <paramref name="tokenBudget"/>-token step would get (<see cref="LlamaModel.EngineConfigFor"/>).
    /// </summary>
    public LlamaStepProbe(LlamaModel model, int maxBatch, int tokenBudget)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.EngineConfigFor(maxBatch, tokenBudget);
        if (tokenBudget > model.ContextSize)
        {
            throw new ArgumentException($"token budget {tokenBudget} exceeds the context of {model.ContextSize}");
        }

        _model = model;
        MaxBatch = config.MaxBatch;
        MaxContext = config.MaxModelLen;
        _tokenBudget = tokenBudget;

        // Ordinary tokens only: skip the low ids, where generated and converted vocabularies keep control tokens.
        _firstId = Math.Min(16, model.VocabularySize - 1);
        _idRange = Math.Max(1, model.VocabularySize - _firstId);
        _executor = new BatchedExecutor(model.Weights, model.ContextParams(tokenBudget, maxBatch));
    }

    /// <summary>Most sequences a step may hold.</summary>
    public int MaxBatch { get; }

    /// <summary>Longest context one sequence may reach (the engine's max model length for this layout).</summary>
    public int MaxContext { get; }

    /// <summary>
    /// Times <paramref name="repeats"/> decode steps (after <paramref name="warmup"/> untimed ones) of
    /// <paramref name="batch"/> sequences that each hold <paramref name="context"/> tokens. Each step adds one token
    /// per sequence, so the last step runs at context + warm-up + repeats − 1. Returns milliseconds per step.
    /// </summary>
    public double[] TimeDecode(int batch, int context, int repeats, int warmup)
    {
        CheckRepeats(repeats, warmup);
        CheckBatch(batch, context + warmup + repeats);
        var sequences = Build(batch, context);
        try
        {
            return Time(repeats, warmup, () => Step(sequences, null, 0));
        }
        finally
        {
            Dispose(sequences);
        }
    }

    /// <summary>
    /// Times prefilling one chunk of <paramref name="chunk"/> tokens over <paramref name="cached"/> cached tokens,
    /// sampling a token after it (the last chunk of a prompt). The chunk is removed from the cache after each
    /// repetition, so every repetition sees the same cache. Returns milliseconds per step.
    /// </summary>
    public double[] TimePrefill(int chunk, int cached, int repeats, int warmup)
    {
        CheckRepeats(repeats, warmup);
        CheckChunk(chunk, cached);
        CheckBatch(1, cached + chunk);
        var sequences = Build(1, cached);
        try
        {
            var empty = Array.Empty<Conversation>();
            return Time(repeats, warmup, () =>
            {
                Step(empty, sequences[0], chunk);
                sequences[0].Rewind(chunk);
            });
        }
        finally
        {
            Dispose(sequences);
        }
    }

    /// <summary>
    /// Times Sarathi-style mixed steps: <paramref name="decodes"/> sequences at <paramref name="context"/> decode one
    /// token each while a new sequence prefills a <paramref name="chunk"/>-token first chunk without sampling (a
    /// middle chunk). Returns milliseconds per step.
    /// </summary>
    public double[] TimeMixed(int decodes, int context, int chunk, int repeats, int warmup)
    {
        CheckRepeats(repeats, warmup);
        CheckChunk(chunk + decodes, 0);
        CheckBatch(decodes + 1, Math.Max(context + warmup + repeats, chunk));
        var sequences = Build(decodes, context);
        var prefill = _executor.Create();
        try
        {
            return Time(repeats, warmup, () =>
            {
                Step(sequences, prefill, chunk, samplePrefill: false);
                prefill.Rewind(chunk);
            });
        }
        finally
        {
            prefill.Dispose();
            Dispose(sequences);
        }
    }

    /// <summary>
    /// Times moving one sequence of <paramref name="context"/> tokens out of the cache and back (LLamaSharp state
    /// save and load, as <see cref="LlamaExecutor"/> swaps) and returns milliseconds per block moved one way, for a
    /// block of <paramref name="blockSize"/> tokens: the median round trip over 2 × blocks.
    /// </summary>
    public double TimeSwapPerBlock(int context, int blockSize, int repeats)
    {
        CheckRepeats(repeats, 0);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        CheckBatch(1, context);
        var conversation = Build(1, context)[0];
        var blocks = Math.Max(1, context / blockSize);
        var timings = new double[repeats];
        try
        {
            for (var i = 0; i < repeats; i++)
            {
                var start = Stopwatch.GetTimestamp();
                using var state = conversation.Save();
                conversation.Dispose();
                conversation = _executor.Load(state);
                timings[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        finally
        {
            conversation.Dispose();
        }

        Array.Sort(timings);
        return timings[timings.Length / 2] / (2 * blocks);
    }

    /// <inheritdoc />
    public void Dispose() => _executor.Dispose();

    private static double[] Time(int repeats, int warmup, Action step)
    {
        for (var i = 0; i < warmup; i++)
        {
            step();
        }

        var timings = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            step();
            timings[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return timings;
    }

    private static void CheckRepeats(int repeats, int warmup)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repeats);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
    }

    private static void Dispose(Conversation[] sequences)
    {
        foreach (var s in sequences)
        {
            s.Dispose();
        }
    }

    private void CheckBatch(int batch, int longestContext)
    {
        if (batch < 1 || batch > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be within 1..{MaxBatch}");
        }

        if (longestContext > MaxContext)
        {
            throw new ArgumentOutOfRangeException(nameof(longestContext), longestContext, $"a sequence would reach {longestContext} tokens, beyond the {MaxContext} one sequence may hold");
        }

        if ((long)batch * longestContext > _model.ContextSize)
        {
            throw new ArgumentOutOfRangeException(nameof(longestContext), longestContext, $"{batch} sequences of up to {longestContext} tokens exceed the {_model.ContextSize} KV cells");
        }
    }

    private void CheckChunk(int tokens, int cached)
    {
        if (tokens < 1 || tokens > _tokenBudget)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"a step must hold 1..{_tokenBudget} tokens (the token budget)");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(cached);
    }

    // One engine-like step: one token for each decoding sequence, a chunk for the prefilling one, one llama_decode,
    // then sampling (decodes always; the chunk when asked).
    private void Step(Conversation[] decoding, Conversation? prefilling, int chunk, bool samplePrefill = true)
    {
        foreach (var s in decoding)
        {
            s.Prompt(NextTokens(1));
        }

        if (prefilling is not null)
        {
            prefilling.Prompt(NextTokens(chunk));
        }

        Infer();
        foreach (var s in decoding)
        {
            _sampler.Sample(s.Sample());
        }

        if (prefilling is not null && samplePrefill)
        {
            _sampler.Sample(prefilling.Sample());
        }
    }

    // Sequences of `context` tokens each, prefilled together in budget-sized steps (not timed).
    private Conversation[] Build(int count, int context)
    {
        var sequences = new Conversation[count];
        for (var i = 0; i < count; i++)
        {
            sequences[i] = _executor.Create();
        }

        var filled = new int[count];
        while (true)
        {
            var room = _tokenBudget;
            var prompted = false;
            for (var i = 0; i < count && room > 0; i++)
            {
                var take = Math.Min(context - filled[i], room);
                if (take <= 0)
                {
                    continue;
                }

                sequences[i].Prompt(NextTokens(take));
                filled[i] += take;
                room -= take;
                prompted = true;
            }

            if (!prompted)
            {
                return sequences;
            }

            Infer();
        }
    }

    private void Infer()
    {
        var result = _executor.Infer().GetAwaiter().GetResult();
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed with {result} while calibrating");
        }
    }

    private LLamaToken[] NextTokens(int count)
    {
        var tokens = new LLamaToken[count];
        for (var i = 0; i < count; i++)
        {
            // A fixed pseudo-random walk over ordinary tokens: deterministic, and not one repeated token.
            _nextToken = (int)((_nextToken * 1103515245L + 12345) & 0x7fffffff);
            tokens[i] = _firstId + (_nextToken % _idRange);
        }

        return tokens;
    }
}
