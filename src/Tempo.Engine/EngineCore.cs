using Tempo.Core;

namespace Tempo.Engine;

/// <summary>
/// The continuous-batching engine shared by the simulator and the real server. Each <see cref="Step"/> asks
/// the scheduler for a plan, checks it against the budgets, moves KV, runs the executor and applies the
/// produced tokens. Not thread-safe: one loop owns it.
/// </summary>
public sealed class EngineCore
{
    private readonly IScheduler _scheduler;
    private readonly IExecutor _executor;
    private readonly List<EngineRequest> _waiting = [];
    private readonly List<EngineRequest> _running = [];
    private readonly List<EngineRequest> _swapped = [];
    private readonly List<EngineRequest> _released = [];
    private readonly SchedulerView _view;
    private long _sequence;

    /// <summary>Creates an engine.</summary>
    public EngineCore(EngineConfig config, IScheduler scheduler, IExecutor executor, IClock clock)
    {
        config.Validate();
        Config = config;
        _scheduler = scheduler;
        _executor = executor;
        Clock = clock;
        Kv = new KvBlockManager(config);
        _view = new SchedulerView(this);
    }

    /// <summary>Raised when a request produces an output token.</summary>
    public event Action<EngineRequest, SequenceOutput>? TokenEmitted;

    /// <summary>Raised when a request is submitted, before the engine checks it (so before a rejection ends it).</summary>
    public event Action<EngineRequest>? RequestSubmitted;

    /// <summary>Raised exactly once per submitted request, when it ends.</summary>
    public event Action<EngineRequest, RequestRecord>? RequestEnded;

    /// <summary>Engine limits.</summary>
    public EngineConfig Config { get; }

    /// <summary>The clock.</summary>
    public IClock Clock { get; }

    /// <summary>KV-cache accounting.</summary>
    public KvBlockManager Kv { get; }

    /// <summary>Counters.</summary>
    public EngineStats Stats { get; } = new();

    /// <summary>Steps executed.</summary>
    public long Steps => Stats.Steps;

    /// <summary>Duration of the last step.</summary>
    public double LastStepDurationS { get; private set; }

    /// <summary>The scheduling policy's name.</summary>
    public string PolicyName => _scheduler.Name;

    /// <summary>True while any request is waiting, running or swapped.</summary>
    public bool HasWork => _waiting.Count + _running.Count + _swapped.Count > 0;

    /// <summary>Requests currently live.</summary>
    public int LiveRequests => _waiting.Count + _running.Count + _swapped.Count;

    /// <summary>The instant the step being planned began, while the policy plans it; null otherwise.</summary>
    internal double? PlanningAtS { get; private set; }

    internal IReadOnlyList<EngineRequest> WaitingQueue => _waiting;

    internal IReadOnlyList<EngineRequest> RunningQueue => _running;

    internal IReadOnlyList<EngineRequest> SwappedQueue => _swapped;

    /// <summary>The view the scheduler sees.</summary>
    public SchedulerView View => _view;

    /// <summary>
    /// Accepts a request. One that can never be served (context longer than the model allows, or more KV than
    /// the cache holds) ends at once as <see cref="FinishReason.Rejected"/>. Invalid specs throw.
    /// </summary>
    public EngineRequest Submit(RequestSpec spec) => Submit(spec, Clock.NowS);

    /// <summary>
    /// Accepts a request that reached the engine at <paramref name="arrivalS"/>, no later than now. The simulator
    /// uses it for requests that arrived while a step was running: they join the queues when the step ends, but
    /// their latency counts from the true arrival, as a client would measure it.
    /// </summary>
    public EngineRequest Submit(RequestSpec spec, double arrivalS)
    {
        if (!double.IsFinite(arrivalS) || arrivalS > Clock.NowS)
        {
            throw new ArgumentOutOfRangeException(nameof(arrivalS), arrivalS, $"arrival must be a finite time not after now ({Clock.NowS})");
        }

        spec.Validate();
        var r = new EngineRequest(spec, arrivalS, _sequence++) { State = RequestState.Waiting };
        Stats.Submitted++;
        RequestSubmitted?.Invoke(r);
        var context = spec.PromptTokens + spec.OutputTokens;
        if (context > Config.MaxModelLen)
        {
            End(r, FinishReason.Rejected, $"prompt {spec.PromptTokens} + output {spec.OutputTokens} tokens exceed the model context of {Config.MaxModelLen}");
            return r;
        }

        if (Kv.BlocksFor(context) > Kv.TotalGpuBlocks - Kv.WatermarkBlocks)
        {
            End(r, FinishReason.Rejected, $"context of {context} tokens can never fit the KV cache of {Kv.TotalGpuBlocks} blocks");
            return r;
        }

        _waiting.Add(r);
        try
        {
            _scheduler.OnArrival(r);
        }
#pragma warning disable CA1031 // A policy that cannot take one request ends that request; the engine and the rest carry on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            End(r, FinishReason.Rejected, $"scheduler '{_scheduler.Name}' could not take this request: {e.Message}");
        }

        return r;
    }

    /// <summary>Ends a live request now (client gone, shutdown). Returns false if it had already ended.</summary>
    public bool Abort(EngineRequest r, string detail)
    {
        if (r.State == RequestState.Finished)
        {
            return false;
        }

        End(r, FinishReason.Aborted, detail);
        return true;
    }

    /// <summary>Runs one step. Returns its duration, or null when there was no work.</summary>
    public double? Step()
    {
        if (!HasWork)
        {
            return null;
        }

        var plannedAtS = Clock.NowS;
        var epochBefore = StepBudget.LastEpoch;
        StepPlan plan;
        PlanningAtS = plannedAtS;
        try
        {
            plan = _scheduler.Plan(_view);
        }
        finally
        {
            PlanningAtS = null;
        }

        // A plan built by a budget this engine made during this Plan call already passed every check the replay
        // makes, against the same KV state (schedulers cannot change it): replaying it again would only cost time.
        if (plan.ReplayNeeded || plan.Source is not { } source || !source.CreatedBy(Kv, epochBefore))
        {
            Validate(plan);
        }

        var drops = plan.Drops;
        for (var i = 0; i < drops.Count; i++)
        {
            End(drops[i].Request, drops[i].Reason, drops[i].Detail);
        }

        var (swappedOut, swapOutBlocks) = ApplyPreemptions(plan.Preemptions);
        var (entries, swappedIn, swapInBlocks) = Admit(plan.Scheduled);
        var batch = new StepBatch(plannedAtS, entries, swappedOut, swappedIn, _released.Count == 0 ? [] : _released.ToArray(), swapOutBlocks, swapInBlocks);
        _released.Clear();
        var result = _executor.Execute(batch);
        if (!(result.DurationS >= 0) || double.IsInfinity(result.DurationS))
        {
            throw new InvalidOperationException($"executor returned an invalid step duration {result.DurationS}");
        }

        if (result.EndS is { } endS && !(endS >= plannedAtS && endS <= Clock.NowS))
        {
            throw new InvalidOperationException($"executor returned a step end {endS} outside the step ({plannedAtS}..{Clock.NowS})");
        }

        LastStepDurationS = result.DurationS;
        Stats.Steps++;
        Stats.BusyS += result.DurationS;
        if (entries.Length == 0)
        {
            Stats.IdleSteps++;
        }

        ApplyResult(entries, result);
        _scheduler.OnStepExecuted(_view, result.DurationS);
        return result.DurationS;
    }

    /// <summary>Checks the engine's bookkeeping; throws on any broken invariant. Used by tests.</summary>
    public void CheckInvariants()
    {
        var gpu = _running.Sum(r => r.GpuBlocks);
        var cpu = _swapped.Sum(r => r.CpuBlocks);
        Ensure(gpu + Kv.FreeGpuBlocks == Kv.TotalGpuBlocks, $"GPU blocks leak: held {gpu} + free {Kv.FreeGpuBlocks} != {Kv.TotalGpuBlocks}");
        Ensure(cpu + Kv.FreeCpuBlocks == Kv.TotalCpuBlocks, $"CPU blocks leak: held {cpu} + free {Kv.FreeCpuBlocks} != {Kv.TotalCpuBlocks}");
        Ensure(Kv.FreeGpuBlocks >= 0 && Kv.FreeCpuBlocks >= 0, "negative free blocks");
        Ensure(_waiting.All(r => r.State == RequestState.Waiting && r.GpuBlocks == 0 && r.CpuBlocks == 0 && r.ComputedTokens == 0), "waiting request holds KV");
        Ensure(_running.All(r => r.State == RequestState.Running && r.GpuBlocks >= Kv.BlocksFor(r.ComputedTokens)), "running request without its KV");
        Ensure(_swapped.All(r => r.State == RequestState.Swapped && r.GpuBlocks == 0), "swapped request holds GPU blocks");
        Ensure(Stats.Submitted == Stats.Ended + LiveRequests, $"request lost: submitted {Stats.Submitted}, ended {Stats.Ended}, live {LiveRequests}");
    }

    private static void Ensure(bool ok, string message)
    {
        if (!ok)
        {
            throw new InvalidOperationException("engine invariant broken: " + message);
        }
    }

    private void Validate(StepPlan plan)
    {
        // Replays the plan through the same accounting the scheduler used: drops and preemptions only free
        // capacity, so a plan built in any interleaving is valid in this order too.
        var check = new StepBudget(Config, Kv, Config.MaxBatch, _running.Count);
        foreach (var d in plan.Drops)
        {
            Ensure(d.Request.State != RequestState.Finished, $"plan drops ended {d.Request}");
            check.Drop(d.Request, d.Detail);
        }

        foreach (var p in plan.Preemptions)
        {
            check.Preempt(p.Request, p.Mode);
        }

        foreach (var s in plan.Scheduled)
        {
            // This runs for every scheduled sequence of every step: check once, and explain only on failure.
            if (!check.TrySchedule(s.Request, s.Tokens))
            {
                Ensure(false, $"plan of '{_scheduler.Name}' does not fit: {s.Request} with {s.Tokens} tokens ({check.Why(s.Request, s.Tokens)})");
            }
        }
    }

    private (EngineRequest[] Out, int Blocks) ApplyPreemptions(IReadOnlyList<Preemption> preemptions)
    {
        if (preemptions.Count == 0)
        {
            return ([], 0);
        }

        var swappedOut = new List<EngineRequest>();
        var blocks = 0;
        foreach (var (r, mode) in preemptions)
        {
            _running.Remove(r);
            if (mode == PreemptionMode.Swap && Kv.CanSwapOut(r))
            {
                blocks += r.GpuBlocks;
                Kv.SwapOut(r);
                r.State = RequestState.Swapped;
                r.Swaps++;
                Stats.SwapOuts++;
                _swapped.Add(r);
                swappedOut.Add(r);
            }
            else
            {
                Kv.FreeGpu(r);
                r.ComputedTokens = 0;
                r.State = RequestState.Waiting;
                r.Recomputes++;
                Stats.Recomputes++;
                _waiting.Insert(0, r);
                _released.Add(r);
            }
        }

        return (swappedOut.ToArray(), blocks);
    }

    private (BatchEntry[] Entries, EngineRequest[] In, int Blocks) Admit(IReadOnlyList<ScheduledWork> scheduled)
    {
        var entries = new BatchEntry[scheduled.Count];
        List<EngineRequest>? swappedIn = null;
        var blocks = 0;
        for (var i = 0; i < scheduled.Count; i++)
        {
            var (r, tokens) = scheduled[i];
            if (r.State == RequestState.Swapped)
            {
                blocks += r.CpuBlocks;
                _swapped.Remove(r);
                Kv.SwapIn(r);
                r.State = RequestState.Running;
                Stats.SwapIns++;
                _running.Add(r);
                (swappedIn ??= []).Add(r);
            }
            else if (r.State == RequestState.Waiting)
            {
                _waiting.Remove(r);
                r.State = RequestState.Running;
                _running.Add(r);
            }

            Kv.Grow(r, r.ComputedTokens + tokens);
            var isDecode = !r.IsPrefill;
            entries[i] = new BatchEntry(r, tokens, r.ComputedTokens, isDecode, tokens == r.PendingTokens);
        }

        return (entries, swappedIn is null ? [] : swappedIn.ToArray(), blocks);
    }

    private void ApplyResult(BatchEntry[] entries, StepResult result)
    {
        var now = result.EndS ?? Clock.NowS;
        var outputIndex = 0;
        foreach (var e in entries)
        {
            var r = e.Request;
            r.ComputedTokens += e.Tokens;
            if (e.IsDecode)
            {
                Stats.DecodeTokens += e.Tokens;
            }
            else
            {
                Stats.PrefillTokens += e.Tokens;
            }

            if (!e.ProducesToken)
            {
                continue;
            }

            var output = result.Outputs is { } outs ? outs[outputIndex++] : default;
            r.AddToken(now);
            TokenEmitted?.Invoke(r, output);
            if (output.Stop)
            {
                End(r, FinishReason.Stop, null);
            }
            else if (r.Generated >= r.Spec.OutputTokens)
            {
                End(r, FinishReason.Length, null);
            }
        }
    }

    private void End(EngineRequest r, FinishReason reason, string? detail)
    {
        switch (r.State)
        {
            case RequestState.Running:
                _running.Remove(r);
                Kv.FreeGpu(r);
                _released.Add(r);
                break;
            case RequestState.Swapped:
                _swapped.Remove(r);
                Kv.FreeCpu(r);
                break;
            case RequestState.Waiting:
                _waiting.Remove(r);
                break;
            default:
                throw new InvalidOperationException($"{r} ended twice");
        }

        r.State = RequestState.Finished;
        Stats.Ended++;
        var record = new RequestRecord(r.Spec, r.ArrivalS, r.TokenTimesS, Clock.NowS, reason, detail);
        _scheduler.OnFinished(r);
        RequestEnded?.Invoke(r, record);
    }
}
