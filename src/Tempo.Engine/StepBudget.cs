using Tempo.Core;

namespace Tempo.Engine;

/// <summary>
/// Builds a <see cref="StepPlan"/> while tracking the step's token, sequence and KV budgets exactly as the
/// engine will check them. Every policy plans through this one accounting, so a plan it accepts is a plan the
/// engine can run: KV blocks are never over-allocated and no step exceeds its budgets.
/// </summary>
public sealed class StepBudget
{
    // Larger batch caps start smaller and let the list grow; the common caps (32..256) never regrow.
    private const int MaxInitialCapacity = 256;

    // Every budget gets a process-wide unique epoch, so a stamp left on a request by any other budget (of this
    // or another engine) can never be mistaken for this one's.
    private static long s_lastEpoch;

    private readonly KvBlockManager _kv;
    private readonly long _epoch;
    private List<ScheduledWork>? _scheduled;
    private List<Preemption>? _preemptions;
    private List<Drop>? _drops;

    // Membership is a stamp on the request while this is the engine's newest budget (no hashing, no allocation);
    // only a budget used after a newer one was created falls back to a set rebuilt from its own lists.
    private HashSet<EngineRequest>? _staleTouched;

    // Set when Build handed the lists to a plan: the next change copies them, so a built plan never changes.
    private bool _shared;

    internal StepBudget(EngineConfig config, KvBlockManager kv, int maxSequences, int resident)
    {
        _kv = kv;
        _epoch = Interlocked.Increment(ref s_lastEpoch);
        kv.CurrentBudgetEpoch = _epoch;
        TokensLeft = config.TokenBudget;
        SequencesLeft = Math.Min(maxSequences, config.MaxBatch);
        ResidentSlotsLeft = config.MaxBatch - resident;
        FreeGpuBlocks = kv.FreeGpuBlocks;
        FreeCpuBlocks = kv.FreeCpuBlocks;
    }

    /// <summary>The newest epoch handed out so far (any engine); a budget created later has a larger one.</summary>
    internal static long LastEpoch => Volatile.Read(ref s_lastEpoch);

    /// <summary>
    /// True once the plan could fail the engine's replay although this budget accepted it (a drop of an ended
    /// request, which only the engine's check rejects).
    /// </summary>
    internal bool ReplayNeeded { get; private set; }

    /// <summary>Tokens still available this step.</summary>
    public int TokensLeft { get; private set; }

    /// <summary>Sequences still available this step.</summary>
    public int SequencesLeft { get; private set; }

    /// <summary>
    /// Sequences that may still start holding KV: the batch size less the running requests, after what is planned so
    /// far. A running request that is not in this step still holds its KV, and a real engine has one KV slot per batch
    /// sequence, so a new or swapped-in request needs a free one even when the step has sequences to spare.
    /// </summary>
    public int ResidentSlotsLeft { get; private set; }

    /// <summary>GPU blocks free after what is planned so far.</summary>
    public int FreeGpuBlocks { get; private set; }

    /// <summary>CPU swap blocks free after what is planned so far.</summary>
    public int FreeCpuBlocks { get; private set; }

    /// <summary>Work planned so far.</summary>
    public IReadOnlyList<ScheduledWork> Scheduled => (IReadOnlyList<ScheduledWork>?)_scheduled ?? [];

    /// <summary>True if the request is already scheduled, preempted or dropped in this plan.</summary>
    public bool Contains(EngineRequest r) =>
        _kv.CurrentBudgetEpoch == _epoch ? r.PlanEpoch == _epoch : StaleSet().Contains(r);

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
        if (r.State != RequestState.Running)
        {
            ResidentSlotsLeft--;
        }

        Unshare();
        (_scheduled ??= new List<ScheduledWork>(Math.Clamp(SequencesLeft, 1, MaxInitialCapacity))).Add(new ScheduledWork(r, tokens));
        TokensLeft -= tokens;
        SequencesLeft--;
        Touch(r);
        return true;
    }

    /// <summary>Preempts a running, not yet scheduled request. Swap falls back to recompute when CPU space is short.</summary>
    public PreemptionMode Preempt(EngineRequest r, PreemptionMode mode)
    {
        if (r.State != RequestState.Running || Contains(r))
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
        ResidentSlotsLeft++;
        Unshare();
        (_preemptions ??= []).Add(new Preemption(r, mode));
        Touch(r);
        return mode;
    }

    /// <summary>Ends a request that is not in the plan yet (rejected if never admitted, otherwise aborted).</summary>
    public void Drop(EngineRequest r, string detail)
    {
        if (Contains(r))
        {
            throw new InvalidOperationException($"cannot drop {r}: already in the plan");
        }

        ReplayNeeded |= r.State == RequestState.Finished;

        if (r.State == RequestState.Running)
        {
            FreeGpuBlocks += r.GpuBlocks;
            ResidentSlotsLeft++;
        }
        else if (r.State == RequestState.Swapped)
        {
            FreeCpuBlocks += r.CpuBlocks;
        }

        var neverServed = r.State == RequestState.Waiting && r.Generated == 0 && r.ComputedTokens == 0;
        Unshare();
        (_drops ??= []).Add(new Drop(r, neverServed ? FinishReason.Rejected : FinishReason.Aborted, detail));
        Touch(r);
    }

    /// <summary>The finished plan.</summary>
    public StepPlan Build()
    {
        // The plan shares the lists instead of copying them; a later change to this budget copies first.
        _shared = true;
        return new StepPlan(Scheduled, (IReadOnlyList<Preemption>?)_preemptions ?? [], (IReadOnlyList<Drop>?)_drops ?? [], this);
    }

    /// <summary>True when <paramref name="kv"/> created this budget after epoch <paramref name="sinceEpoch"/>.</summary>
    internal bool CreatedBy(KvBlockManager kv, long sinceEpoch) => ReferenceEquals(kv, _kv) && _epoch > sinceEpoch;

    /// <summary>Why the work does not fit, or null if it does.</summary>
    public string? Why(EngineRequest r, int tokens)
    {
        if (r.State == RequestState.Finished)
        {
            return "finished";
        }

        if (Contains(r))
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
        if (admitting && ResidentSlotsLeft < 1)
        {
            return "batch slots (every one is held by a running request)";
        }

        var reserve = admitting ? _kv.WatermarkBlocks : 0;
        return BlocksNeeded(r, tokens) > FreeGpuBlocks - reserve ? "KV blocks" : null;
    }
    private void Touch(EngineRequest r)
    {
        if (_kv.CurrentBudgetEpoch == _epoch)
        {
            r.PlanEpoch = _epoch;
        }
        else
        {
            StaleSet().Add(r);
        }
    }

    private HashSet<EngineRequest> StaleSet()
    {
        if (_staleTouched is null)
        {
            // A newer budget now owns the stamps; what this one touched is exactly what its lists hold.
            _staleTouched = [];
            foreach (var s in Scheduled)
            {
                _staleTouched.Add(s.Request);
            }

            foreach (var p in (IReadOnlyList<Preemption>?)_preemptions ?? [])
            {
                _staleTouched.Add(p.Request);
            }

            foreach (var d in (IReadOnlyList<Drop>?)_drops ?? [])
            {
                _staleTouched.Add(d.Request);
            }
        }

        return _staleTouched;
    }

    private void Unshare()
    {
        if (!_shared)
        {
            return;
        }

        _shared = false;
        _scheduled = _scheduled is null ? null : [.. _scheduled];
        _preemptions = _preemptions is null ? null : [.. _preemptions];
        _drops = _drops is null ? null : [.. _drops];
    }
}
