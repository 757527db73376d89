using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Tests;

/// <summary>
/// A small deterministic driver for scheduling tests: a fixed-duration executor on a virtual clock, arrivals
/// submitted when their time comes, collective stages released when the previous stage of their job has ended.
/// Checks the engine's invariants and the step's budgets after every step.
/// </summary>
internal sealed class SimHarness
{
    private readonly VirtualClock _clock = new();
    private readonly RecordingExecutor _executor;
    private readonly Dictionary<long, int> _ends = [];

    public SimHarness(IScheduler scheduler, EngineConfig config, double stepS = 0.01)
    {
        _executor = new RecordingExecutor(_clock, stepS);
        Engine = new EngineCore(config, scheduler, _executor, _clock);
        Engine.RequestEnded += (_, rec) =>
        {
            Records.Add(rec);
            _ends[rec.Spec.Id] = _ends.GetValueOrDefault(rec.Spec.Id) + 1;
        };
        Engine.TokenEmitted += (r, _) =>
        {
            if (r.Generated == 1)
            {
                FirstTokenOrder.Add(r.Id);
            }
        };
    }

    public EngineCore Engine { get; }

    public double NowS => _clock.NowS;

    /// <summary>Every executed batch, in order.</summary>
    public List<StepBatch> Batches => _executor.Batches;

    /// <summary>Records in the order requests ended.</summary>
    public List<RequestRecord> Records { get; } = [];

    /// <summary>Live engine requests by id, as returned by Submit.</summary>
    public Dictionary<long, EngineRequest> Requests { get; } = [];

    /// <summary>How many times each request id ended.</summary>
    public IReadOnlyDictionary<long, int> Ends => _ends;

    /// <summary>Ids in the order their first output token appeared (ties: batch order).</summary>
    public List<long> FirstTokenOrder { get; } = [];

    /// <summary>Submits a request now.</summary>
    public EngineRequest Submit(RequestSpec spec)
    {
        var r = Engine.Submit(spec);
        Requests[spec.Id] = r;
        return r;
    }

    /// <summary>Runs the workload to completion (or throws after <paramref name="maxSteps"/>).</summary>
    public SimHarness Run(IEnumerable<RequestSpec> specs, int maxSteps = 200_000, Action<SimHarness>? afterStep = null)
    {
        var pending = specs.OrderBy(s => s.ArrivalS).ThenBy(s => s.Id).ToList();
        for (var step = 0; ; step++)
        {
            if (step >= maxSteps)
            {
                throw new InvalidOperationException($"no completion after {maxSteps} steps ({Engine.LiveRequests} live, {pending.Count} pending)");
            }

            SubmitDue(pending);
            if (!Engine.HasWork)
            {
                var next = pending.Where(Released).Select(s => (double?)s.ArrivalS).Min();
                if (next is null)
                {
                    Assert.Empty(pending);
                    return this;
                }

                _clock.AdvanceTo(next.Value);
                continue;
            }

            Engine.Step();
            Engine.CheckInvariants();
            var batch = Batches[^1];
            Assert.True(batch.Entries.Sum(e => e.Tokens) <= Engine.Config.TokenBudget, "step exceeds the token budget");
            Assert.True(batch.Entries.Count <= Engine.Config.MaxBatch, "step exceeds the batch cap");
            Assert.True(Engine.Kv.FreeGpuBlocks >= 0 && Engine.Kv.FreeGpuBlocks <= Engine.Kv.TotalGpuBlocks);
            afterStep?.Invoke(this);
        }
    }

    private void SubmitDue(List<RequestSpec> pending)
    {
        for (var i = 0; i < pending.Count;)
        {
            var s = pending[i];
            if (Released(s) && s.ArrivalS <= _clock.NowS)
            {
                pending.RemoveAt(i);
                Submit(s);
            }
            else
            {
                i++;
            }
        }
    }

    // A collective stage is released once every submitted call of earlier stages of its job has ended.
    private bool Released(RequestSpec s) =>
        s.JobId is not { } job || s.Stage == 0 ||
        Requests.Values.Any(r => r.Spec.JobId == job && r.Spec.Stage == s.Stage - 1) &&
        Requests.Values.Where(r => r.Spec.JobId == job && r.Spec.Stage < s.Stage).All(r => r.State == RequestState.Finished);

    private sealed class RecordingExecutor(VirtualClock clock, double stepS) : IExecutor
    {
        public List<StepBatch> Batches { get; } = [];

        public StepResult Execute(StepBatch batch)
        {
            Batches.Add(batch);
            clock.Advance(stepS);
            return new(stepS);
        }
    }
}
