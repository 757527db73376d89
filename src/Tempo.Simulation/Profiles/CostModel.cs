using Tempo.Engine;
using Tempo.Scheduling;

namespace Tempo.Simulation.Profiles;

/// <summary>
/// The per-iteration latency model of evaluation note C.4 in docs/PROFILES.md over one <see cref="CostProfile"/>. Immutable and
/// thread-safe; <see cref="StepTimeS(StepBatch)"/> allocates nothing, so it can run once per simulated step.
/// </summary>
public sealed class CostModel
{
    // T_lin is tabulated per integer token count up to this N (the largest per-step token budget in use is
    // 8,192); larger N fall back to interpolating the profile's points.
    private const int DenseLimit = 16_384;

    private readonly double[] _linN;
    private readonly double[] _linMs;
    private readonly double[] _linDense;
    private readonly double _layers;
    private readonly double _decodeA;
    private readonly double _decodeB;
    private readonly double _gqa;
    private readonly bool _padded;
    private readonly double _prefillA;
    private readonly double _prefillBeta;
    private readonly double _prefillG;
    private readonly double _kvSave;
    private readonly double _fixedMs;
    private readonly double _outputMs;
    private readonly double _swapMs;

    /// <summary>Builds the model; the profile is validated first.</summary>
    public CostModel(CostProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        profile.Validate();
        Profile = profile;
        _linN = [.. profile.LinearMs.Select(p => p[0])];
        _linMs = [.. profile.LinearMs.Select(p => p[1])];
        _layers = profile.NumLayers;
        _decodeA = profile.DecodeAttnAMs;
        _decodeB = profile.DecodeAttnBMs;
        _gqa = profile.GqaBatchFactor;
        _padded = profile.DecodeAttnPadded;
        _prefillA = profile.PrefillAttnAMs;
        _prefillBeta = profile.PrefillAttnBetaMs;
        _prefillG = profile.PrefillAttnGMs;
        _kvSave = profile.KvSaveMs;
        _fixedMs = profile.FixedMs;
        _outputMs = profile.OutputMs;
        _swapMs = profile.SwapMsPerBlock;
        _linDense = new double[DenseLimit + 1];
        for (var n = 0; n <= DenseLimit; n++)
        {
            _linDense[n] = Interpolate(n);
        }
    }

    /// <summary>The profile the model was built from.</summary>
    public CostProfile Profile { get; }

    /// <summary>Duration of an iteration that runs nothing (an idle tick): the fixed overhead.</summary>
    public double IdleStepS => _fixedMs / 1000;

    /// <summary>An executor that charges each step this model's duration and advances <paramref name="clock"/> by it.</summary>
    public IExecutor CreateExecutor(VirtualClock clock) => new SimulatedExecutor(this, clock, 1, null);

    /// <summary>
    /// An executor whose every step takes <paramref name="slowdown"/> times the modelled time (a slower machine), times a
    /// factor from <paramref name="noise"/> when given (a machine whose steps vary).
    /// </summary>
    public IExecutor CreateExecutor(VirtualClock clock, double slowdown, StepNoise? noise = null) => new SimulatedExecutor(this, clock, slowdown, noise);

    /// <summary>Modelled duration of one engine step in seconds: its KV swaps, then one forward pass over the batch.</summary>
    public double StepTimeS(StepBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var swapBlocks = batch.SwapOutBlocks + batch.SwapInBlocks;
        return batch.Entries is BatchEntry[] array ? StepTimeS(array, swapBlocks) : StepTimeS(batch.Entries, swapBlocks);
    }

    /// <summary>Modelled duration in seconds of a forward pass over <paramref name="entries"/> plus <paramref name="swapBlocks"/> KV blocks moved.</summary>
    /// <remarks>Only the entries' shapes (<see cref="BatchEntry.Shape"/>) are read.</remarks>
    public double StepTimeS(ReadOnlySpan<BatchEntry> entries, int swapBlocks)
    {
        var acc = default(Accumulator);
        foreach (ref readonly var e in entries)
        {
            Add(ref acc, e.Tokens, e.ContextBefore, e.IsDecode, e.ProducesToken);
        }

        return Finish(acc, swapBlocks);
    }

    /// <summary>Modelled duration in seconds of a forward pass over <paramref name="work"/> plus <paramref name="swapBlocks"/> KV blocks moved.</summary>
    public double ShapeTimeS(ReadOnlySpan<WorkShape> work, int swapBlocks)
    {
        var acc = default(Accumulator);
        foreach (ref readonly var w in work)
        {
            Add(ref acc, w.Tokens, w.ContextBefore, w.IsDecode, w.ProducesToken);
        }

        return Finish(acc, swapBlocks);
    }

    /// <summary>
    /// The step costs a policy should start from on <paramref name="engine"/>: a decode-only step of half the
    /// batch at 512 tokens of context each, and the same step with a prefill chunk filling the rest of the token
    /// budget. Only a starting point: policies that time their decisions correct it from measured steps.
    /// </summary>
    public StepCostPrior PriorFor(EngineConfig engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        const int typicalContext = 512;
        var decodes = Math.Max(1, engine.MaxBatch / 2);
        var work = new WorkShape[decodes + 1];
        for (var i = 0; i < decodes; i++)
        {
            work[i] = WorkShape.Decode(typicalContext);
        }

        var decodeS = ShapeTimeS(work.AsSpan(0, decodes), 0);
        work[decodes] = WorkShape.Prefill(Math.Max(1, engine.TokenBudget - decodes), 0, producesToken: true);
        return new StepCostPrior(decodeS, ShapeTimeS(work, 0));
    }

    /// <summary>T_lin(N) in ms: the token-level (linear) ops of an iteration over <paramref name="tokens"/> tokens.</summary>
    public double LinearMs(int tokens) => tokens <= 0 ? 0 : tokens <= DenseLimit ? _linDense[tokens] : Interpolate(tokens);

    /// <summary>Decode attention of an iteration in ms: <paramref name="sequences"/> decodes over <paramref name="contextTokens"/> (ΣK) tokens.</summary>
    public double DecodeAttentionMs(int sequences, long contextTokens) =>
        sequences <= 0 ? 0 : _layers * (_decodeA + (_decodeB * contextTokens)) * (sequences > 1 ? _gqa : 1);

    /// <summary>Prefill attention (plus the optional KV-save term) in ms of one chunk of <paramref name="chunk"/> tokens over <paramref name="cached"/> cached tokens.</summary>
    public double PrefillAttentionMs(int chunk, int cached) => _layers * (PrefillPerLayerMs(chunk, cached) + (_kvSave * chunk));

    private double StepTimeS(IReadOnlyList<BatchEntry> entries, int swapBlocks)
    {
        var acc = default(Accumulator);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            Add(ref acc, e.Tokens, e.ContextBefore, e.IsDecode, e.ProducesToken);
        }

        return Finish(acc, swapBlocks);
    }

    private void Add(ref Accumulator acc, int tokens, int contextBefore, bool isDecode, bool producesToken)
    {
        acc.Tokens += tokens;
        acc.Outputs += producesToken ? 1 : 0;
        if (isDecode)
        {
            acc.Decodes++;
            // The new token attends to the cached context and to itself.
            acc.DecodeContext += contextBefore + tokens;
            acc.MaxDecodeContext = Math.Max(acc.MaxDecodeContext, contextBefore + tokens);
        }
        else
        {
            acc.PrefillPerLayerMs += PrefillPerLayerMs(tokens, contextBefore);
            acc.PrefillTokens += tokens;
        }
    }

    private double Finish(in Accumulator acc, int swapBlocks)
    {
        var ms = _fixedMs + (_swapMs * swapBlocks);
        if (acc.Tokens > 0)
        {
            ms += LinearMs(acc.Tokens)
                + DecodeAttentionMs(acc.Decodes, _padded ? (long)acc.Decodes * acc.MaxDecodeContext : acc.DecodeContext)
                + (_layers * (acc.PrefillPerLayerMs + (_kvSave * acc.PrefillTokens)))
                + (_outputMs * acc.Outputs);
        }

        return ms / 1000;
    }

    private double PrefillPerLayerMs(int chunk, int cached)
    {
        double c = chunk;
        return _prefillA + (_prefillBeta * c) + (_prefillG * ((c * cached) + (c * c / 2)));
    }

    private double Interpolate(double n)
    {
        var last = _linN.Length - 1;
        if (n <= _linN[0] || last == 0)
        {
            // Below the first point the step is memory-bound: hold the floor. A one-point table is constant.
            return _linMs[0];
        }

        var i = Array.BinarySearch(_linN, n);
        if (i >= 0)
        {
            return _linMs[i];
        }

        // Between points lo and lo+1, or beyond the last point using the last segment's slope.
        var lo = Math.Min(~i - 1, last - 1);
        var slope = (_linMs[lo + 1] - _linMs[lo]) / (_linN[lo + 1] - _linN[lo]);
        return _linMs[lo] + (slope * (n - _linN[lo]));
    }

    private struct Accumulator
    {
        public int Tokens;
        public int Decodes;
        public int Outputs;
        public long DecodeContext;
        public int MaxDecodeContext;
        public int PrefillTokens;
        public double PrefillPerLayerMs;
    }
}
