using Tempo.Workloads;

namespace Tempo.Scheduling.Collective;

/// <summary>A closed stage of a job as one super-node: the summed prompt and output tokens of its calls (§5.1).</summary>
/// <param name="InputTokens">Σ prompt tokens of the stage's calls.</param>
/// <param name="OutputTokens">Σ output tokens of the stage's calls.</param>
internal readonly record struct StageNode(long InputTokens, long OutputTokens);

/// <summary>
/// The structure of a finished (or recorded) collective job: its stages as super-nodes and the inclusive cumulative
/// fraction of the job's time spent up to the end of each stage, <c>F(≤ k)</c>, used to split the job deadline.
/// </summary>
internal sealed class GraphTemplate
{
    private readonly StageNode[] _stages;
    private readonly double[] _cumulative;

    private GraphTemplate(string app, StageNode[] stages, double[] cumulative)
    {
        App = app;
        _stages = stages;
        _cumulative = cumulative;
    }

    /// <summary>Normalised application name.</summary>
    public string App { get; }

    /// <summary>Stage super-nodes (may be empty for a default structure that only carries fractions).</summary>
    public IReadOnlyList<StageNode> Stages => _stages;

    /// <summary>Number of stages.</summary>
    public int StageCount => _cumulative.Length;

    /// <summary>
    /// Inclusive cumulative fraction of the job at the end of <paramref name="stage"/> (Q16: ≤ stage, never the
    /// exclusive form that gives 0 at stage 0); 1 for the last stage and beyond.
    /// </summary>
    public double CumulativeFraction(int stage) => stage >= _cumulative.Length - 1 ? 1 : _cumulative[Math.Max(0, stage)];

    /// <summary>
    /// Builds a template from per-stage work (measured stage times, or stage maximum outputs for recorded traces);
    /// non-positive work counts as a tiny share so fractions stay strictly increasing.
    /// </summary>
    public static GraphTemplate FromStageWork(string app, IReadOnlyList<StageNode> stages, IReadOnlyList<double> work)
    {
        if (work.Count == 0)
        {
            throw new ArgumentException("a template needs at least one stage", nameof(work));
        }

        var cumulative = new double[work.Count];
        var total = 0.0;
        for (var i = 0; i < work.Count; i++)
        {
            total += Math.Max(work[i], 1e-9);
            cumulative[i] = total;
        }

        for (var i = 0; i < cumulative.Length; i++)
        {
            cumulative[i] /= total;
        }

        cumulative[^1] = 1;
        return new GraphTemplate(app, [.. stages], cumulative);
    }

    /// <summary>
    /// The structure used when nothing matches: ToT's [3,1,3,1] pattern shares for a 4-stage ToT job, equal shares
    /// per stage otherwise (the artifact's "none" mode, made cumulative and inclusive).
    /// </summary>
    public static GraphTemplate Default(string app, int stageCount)
    {
        stageCount = Math.Max(1, stageCount);
        var expected = CollectiveApp.ExpectedCalls(app, stageCount);
        var work = new double[stageCount];
        for (var i = 0; i < stageCount; i++)
        {
            work[i] = expected?[i] ?? 1;
        }

        return FromStageWork(app, [], work);
    }

    /// <summary>
    /// Template of a recorded job with stage shares by each stage's longest output, the artifact's rule for
    /// offline traces (and for the oracle's precise cumulative ratio).
    /// </summary>
    public static GraphTemplate FromRecorded(string app, RecordedJob job)
    {
        var nodes = new StageNode[job.Stages.Count];
        var work = new double[job.Stages.Count];
        for (var s = 0; s < job.Stages.Count; s++)
        {
            long input = 0, output = 0;
            var maxOut = 0;
            foreach (var call in job.Stages[s])
            {
                input += call.InputTokens;
                output += call.OutputTokens;
                maxOut = Math.Max(maxOut, call.OutputTokens);
            }

            nodes[s] = new StageNode(input, output);
            work[s] = maxOut;
        }

        return FromStageWork(app, nodes, work);
    }
}
