using Tempo.Core;
using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Benchmarks;

/// <summary>
/// The KV block manager's operations on the default profile's cache (28,180 GPU blocks of 16 tokens, 4,096 CPU
/// swap blocks), in the shapes the engine and the schedulers use them. Shared by the BenchmarkDotNet class and
/// the per-call percentiles of the <c>latency</c> mode, so both time the same work.
/// </summary>
internal sealed class KvOperations
{
    /// <summary>Sequences in a full decode batch (the default batch cap).</summary>
    public const int BatchSize = 32;

    private readonly EngineConfig _config;
    private readonly KvBlockManager _kv;
    private readonly EngineRequest _single;
    private readonly EngineRequest _decoding;
    private readonly EngineRequest[] _batch;
    private readonly int _contextTokens;
    private int _decodedTo;

    /// <param name="contextTokens">Prompt plus generated tokens each request holds (blocks = tokens / 16, rounded up).</param>
    public KvOperations(int contextTokens)
    {
        _contextTokens = contextTokens;
        _config = CostProfile.Default.ToEngineConfig(BatchSize, 512);
        _kv = new KvBlockManager(_config);

        // The operation under test never allocates these, so the cache state is what a busy engine would see:
        // a full batch holding its KV, the rest free.
        var nextId = 0L;
        EngineRequest NewRequest(int prompt) => new(new RequestSpec
        {
            Id = nextId,
            ArrivalS = 0,
            Class = RequestClass.Latency,
            Slo = new Slo(1, 0.1, 10),
            PromptTokens = prompt,
            OutputTokens = _config.MaxModelLen - prompt,
        }, 0, nextId++);

        _batch = new EngineRequest[BatchSize];
        for (var i = 0; i < _batch.Length; i++)
        {
            // One token pending each: the KV of the context minus the token decoded next step.
            var r = NewRequest(contextTokens);
            r.State = RequestState.Running;
            r.ComputedTokens = contextTokens - 1;
            _kv.Grow(r, r.ComputedTokens);
            _batch[i] = r;
        }

        _single = NewRequest(contextTokens);
        _single.State = RequestState.Running;
        _decoding = NewRequest(contextTokens);
        _decoding.State = RequestState.Running;
        _decodedTo = contextTokens;
        _kv.Grow(_decoding, _decodedTo);
    }

    /// <summary>GPU blocks one request of this context holds.</summary>
    public int BlocksPerRequest => _kv.BlocksFor(_contextTokens);

    /// <summary>Admission of a whole prefill (allocate its blocks) followed by its finish (free them).</summary>
    public int AllocateAndFree()
    {
        _kv.Grow(_single, _contextTokens);
        var held = _single.GpuBlocks;
        _kv.FreeGpu(_single);
        return held;
    }

    /// <summary>
    /// One decode token of a running request: one call in 16 crosses a block boundary and takes a block. At
    /// the model's length limit the request finishes and a new one of the same context takes its place, as in
    /// the engine (one call in several thousand).
    /// </summary>
    public int Extend()
    {
        if (++_decodedTo > _config.MaxModelLen)
        {
            _kv.FreeGpu(_decoding);
            _decodedTo = _contextTokens;
        }

        _kv.Grow(_decoding, _decodedTo);
        return _decoding.GpuBlocks;
    }

    /// <summary>Preemption by swap of a request holding this context, then its swap-in: one round trip.</summary>
    public int SwapOutAndIn()
    {
        var r = _batch[0];
        _kv.SwapOut(r);
        _kv.SwapIn(r);
        return r.GpuBlocks;
    }

    /// <summary>
    /// The scheduler-side KV accounting of one decode step: a fresh budget, every sequence of the full batch
    /// checked against the token, sequence and KV budgets and scheduled for one token, and the plan built.
    /// This is the per-step floor every policy pays before any ranking.
    /// </summary>
    public StepPlan PlanDecodeBatch()
    {
        var budget = new StepBudget(_config, _kv, BatchSize, _batch.Length);
        foreach (var r in _batch)
        {
            budget.TrySchedule(r, 1);
        }

        return budget.Build();
    }
}
