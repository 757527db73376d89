using Tempo.Core;

namespace Tempo.Engine;

/// <summary>
/// Builds a <see cref="StepPlan"/> while tracking the step's token, sequence and KV budgets exactly as the
/// engine will check them. Every policy plans through this one accounting, so a plan it accepts is a plan the
/// engine can run: KV blocks are never over-allocated and no step exceeds its budgets.
/// </summary>
public sealed class StepBudget
{
    private readonly KvBlockManager _kv;
    private readonly List<ScheduledWork> _scheduled = [];
    private readonly List<Preemption> _preemptions = [];
    private readonly List<Drop> _drops = [];
    private readonly HashSet<long> _touched = [];

    internal StepBudget(EngineConfig config, KvBlockManager kv, int maxSequences)
    {
        _kv = kv;
        TokensLeft = config.TokenBudget;
        SequencesLeft = Math.Min(maxSequences, config.MaxBatch);
        FreeGpuBlocks = kv.FreeGpuBlocks;
        FreeCpuBlocks = kv.FreeCpuBlocks;
    }

    /// <summary>Tokens still available this step.</summary>
    public int TokensLeft { get; private set; }

    /// <summary>Sequences still available this step.</summary>
    public int SequencesLeft { get; private set; }

    /// <summary>GPU blocks free after what is planned so far.</summary>
    public int FreeGpuBlocks { get; private set; }

    /// <summary>CPU swap blocks free after what is planned so far.</summary>
    public int FreeCpuBlocks { get; private set; }

    /// <summary>Work planned so far.</summary>
    public IReadOnlyList<ScheduledWork> Scheduled => _scheduled;

    /// <summary>True if the request is already scheduled, preempted or dropped in this plan.</summary>
    public bool Contains(EngineRequest r) => _touched.Contains(r.Id);

    /// <summary>Additional GPU blocks the request needs to process <paramref name="tokens"/> more tokens this step (swap-in included).</summary>
    public int BlocksNeeded(EngineRequest r, int tokens)
    {
        var after = _kv.BlocksFor(r.ComputedTokens + tokens);
        return r.State switch
        {
            RequestState.Swapped => Math.Max(after, r.CpuBlocks),
            RequestState.Running => Math.Max(0, after - r.GpuBlocks),
            _ => after,
        };
    }

    /// <summary>The most tokens the request could process this step, given tokens left and its pending work (0 if none).</summary>
    public int MaxTokensFor(EngineRequest r, bool allowChunking = true)
    {
        var pending = r.PendingTokens;
        if (pending <= TokensLeft)
        {
            return pending;
        }

        return allowChunking ? TokensLeft : 0;
    }

    /// <summary>Whether <paramref name="tokens"/> tokens of the request fit the remaining budgets.</summary>
    public bool CanSchedule(EngineRequest r, int tokens) => Why(r, tokens) is null;

    /// <summary>Schedules the request if it fits; returns false and changes nothing otherwise.</summary>
    public bool TrySchedule(EngineRequest r, int tokens)
    {
        if (!CanSchedule(r, tokens))
        {
            return false;
        }

        // CPU blocks released by a swap-in are not credited to this step: the engine performs swap-outs before
        // swap-ins, so a swap-out planned on that space would silently become a recompute.
        FreeGpuBlocks -= BlocksNeeded(r, tokens);

        TokensLeft -= tokens;
        SequencesLeft--;
        _touched.Add(r.Id);
        _scheduled.Add(new ScheduledWork(r, tokens));
        return true;
    }

    /// <summary>Preempts a running, not yet scheduled request. Swap falls back to recompute when CPU space is short.</summary>
    public PreemptionMode Preempt(EngineRequest r, PreemptionMode mode)
    {
        if (r.State != RequestState.Running || _touched.Contains(r.Id))
        {
            throw new InvalidOperationException($"cannot preempt {r}: only running requests not already in the plan");
        }

        if (mode == PreemptionMode.Swap && r.GpuBlocks > FreeCpuBlocks)
        {
            mode = PreemptionMode.Recompute;
        }

        if (mode == PreemptionMode.Swap)
        {
            FreeCpuBlocks -= r.GpuBlocks;
        }

        FreeGpuBlocks += r.GpuBlocks;
        _touched.Add(r.Id);
        _preemptions.Add(new Preemption(r, mode));
        return mode;
    }

    /// <summary>Ends a request that is not in the plan yet (rejected if never admitted, otherwise aborted).</summary>
    public void Drop(EngineRequest r, string detail)
    {
        if (!_touched.Add(r.Id))
        {
            throw new InvalidOperationException($"cannot drop {r}: already in the plan");
        }

        if (r.State == RequestState.Running)
        {
            FreeGpuBlocks += r.GpuBlocks;
        }
        else if (r.State == RequestState.Swapped)
        {
            FreeCpuBlocks += r.CpuBlocks;
        }

        var neverServed = r.State == RequestState.Waiting && r.Generated == 0 && r.ComputedTokens == 0;
        _drops.Add(new Drop(r, neverServed ? FinishReason.Rejected : FinishReason.Aborted, detail));
    }

    /// <summary>The finished plan.</summary>
    public StepPlan Build() => new(_scheduled.ToArray(), _preemptions.ToArray(), _drops.ToArray());

    /// <summary>Why the work does not fit, or null if it does.</summary>
    public string? Why(EngineRequest r, int tokens)
    {
        if (r.State == RequestState.Finished)
        {
            return "finished";
        }

        if (_touched.Contains(r.Id))
        {
            return "already in the plan";
        }

        if (tokens < 1 || tokens > r.PendingTokens)
        {
            return $"tokens {tokens} outside 1..{r.PendingTokens}";
        }

        if (tokens > TokensLeft)
        {
            return "token budget";
        }

        if (SequencesLeft < 1)
        {
            return "sequence budget";
        }

        var admitting = r.State != RequestState.Running;
        var reserve = admitting ? _kv.WatermarkBlocks : 0;
        return BlocksNeeded(r, tokens) > FreeGpuBlocks - reserve ? "KV blocks" : null;
    }
}
