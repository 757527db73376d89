using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Autellix's program-level least attained service (PLAS), as in the artifact's <c>autellix</c> key: requests are
/// served by <c>⌊service of their program / 400⌋</c>, where a program's service is the number of tokens decoded
/// so far by all of its calls (finished calls included), then by the program's first arrival. All calls of a
/// collective job form one program; any other request is a program of its own. Chunked prefill, recompute
/// preemption; the running queue follows the same order, so KV preemption hits the most-served program first.
/// </summary>
internal sealed class AutellixScheduler() : ChunkedPrefillScheduler("autellix", new LeastAttainedService())
{
    /// <summary>Width of the attained-service buckets in decoded tokens (the artifact's 400).</summary>
    public const int BucketTokens = 400;

    private readonly Dictionary<ProgramId, Program> _programs = [];

    /// <summary>Decoded tokens attained so far by the program of <paramref name="request"/> (0 if unknown).</summary>
    public long AttainedService(EngineRequest request) =>
        _programs.TryGetValue(ProgramOf(request), out var p) ? p.Attained : 0;

    /// <inheritdoc />
    public override void OnArrival(EngineRequest request)
    {
        var id = ProgramOf(request);
        if (!_programs.TryGetValue(id, out var program))
        {
            program = new Program(request.ArrivalS);
            _programs.Add(id, program);
        }

        program.Live++;
        request.PolicyState = new Call(program);
    }

    /// <inheritdoc />
    public override void OnStepExecuted(SchedulerView view, double durationS)
    {
        foreach (var r in view.Running)
        {
            Charge(r);
        }
    }

    /// <inheritdoc />
    public override void OnFinished(EngineRequest request)
    {
        // Requests rejected at submission end before OnArrival and carry no state.
        if (request.PolicyState is not Call call)
        {
            return;
        }

        Charge(request);
        call.Program.Live--;

        // A collective job may release its next stage after its last live call ends, so a job's service must
        // outlive its calls; it is kept for the whole run (one small entry per job). A lone request is done.
        if (call.Program.Live == 0 && request.Spec.JobId is null)
        {
            _programs.Remove(ProgramOf(request));
        }
    }

    private static ProgramId ProgramOf(EngineRequest r) =>
        r.Spec.JobId is { } job ? new ProgramId(true, job) : new ProgramId(false, r.Id);

    private static void Charge(EngineRequest r)
    {
        if (r.PolicyState is Call call)
        {
            call.Program.Attained += r.Generated - call.Charged;
            call.Charged = r.Generated;
        }
    }

    /// <summary>(attained-service bucket of the program, the program's first arrival).</summary>
    private sealed class LeastAttainedService : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS) =>
            r.PolicyState is Call { Program: var p } ? new(p.Attained / BucketTokens, p.FirstArrivalS) : new(0, r.ArrivalS);
    }

    /// <summary>Job ids and request ids live in separate spaces, hence the flag.</summary>
    private readonly record struct ProgramId(bool IsJob, long Id);

    private sealed class Program(double firstArrivalS)
    {
        public double FirstArrivalS { get; } = firstArrivalS;

        public long Attained { get; set; }

        public int Live { get; set; }
    }

    private sealed class Call(Program program)
    {
        public Program Program { get; } = program;

        public int Charged { get; set; }
    }
}
