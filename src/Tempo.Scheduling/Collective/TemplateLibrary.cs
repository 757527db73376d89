using Tempo.Workloads;

namespace Tempo.Scheduling.Collective;

/// <summary>
/// Structures of finished collective jobs, searched by exact nearest neighbour (§5.5 [REC]): seeded at start-up
/// from the recorded training jobs (Q15: the artifact loaded them but never matched against them) and grown
/// with every job that finishes. Matching compares the in-flight job's closed stages with the first stages of
/// templates of the same application and stage count, on log1p-normalised token counts (Q14).
/// </summary>
internal sealed class TemplateLibrary
{
    /// <summary>Default kernel width on log1p token counts.</summary>
    public const double DefaultSigma = 0.5;

    /// <summary>Default cap on stored templates; the oldest grown ones go first, seeds stay.</summary>
    public const int DefaultCapacity = 4096;

    // The artifact's node-similarity weights: output lengths matter more than prompts.
    private const double InputWeight = 0.3;
    private const double OutputWeight = 0.7;

    private static readonly Lazy<GraphTemplate[]> TrainingSeeds = new(() =>
    {
        var jobs = DeepResearchJobs.Training;
        var seeds = new GraphTemplate[jobs.Count];
        for (var i = 0; i < jobs.Count; i++)
        {
            seeds[i] = GraphTemplate.FromRecorded(CollectiveApp.DeepResearch, jobs[i]);
        }

        return seeds;
    });

    private readonly List<GraphTemplate> _templates = [];
    private readonly double _twoSigmaSquared;
    private readonly int _capacity;
    private int _seedCount;

    /// <summary>Creates an empty library.</summary>
    public TemplateLibrary(double sigma = DefaultSigma, int capacity = DefaultCapacity)
    {
        if (!(sigma > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "kernel width must be positive");
        }

        _twoSigmaSquared = 2 * sigma * sigma;
        _capacity = Math.Max(1, capacity);
    }

    /// <summary>Templates stored.</summary>
    public int Count => _templates.Count;

    /// <summary>A library seeded with the deep-research training split (the first 200 recorded jobs).</summary>
    public static TemplateLibrary Seeded(double sigma = DefaultSigma, int capacity = DefaultCapacity)
    {
        var library = new TemplateLibrary(sigma, capacity);
        foreach (var seed in TrainingSeeds.Value)
        {
            library.Add(seed);
        }

        library._seedCount = library._templates.Count;
        return library;
    }

    /// <summary>Adds a template; when full, the oldest template grown online is dropped (seeds are kept).</summary>
    public void Add(GraphTemplate template)
    {
        if (_templates.Count >= _capacity)
        {
            if (_seedCount >= _templates.Count)
            {
                return;
            }

            _templates.RemoveAt(_seedCount);
        }

        _templates.Add(template);
    }

    /// <summary>
    /// Similarity of two super-nodes: 0.3·k(Δ log1p input) + 0.7·k(Δ log1p output) with a Gaussian kernel k, in [0, 1].
    /// </summary>
    public double Similarity(StageNode a, StageNode b)
    {
        var dIn = Math.Log(1 + a.InputTokens) - Math.Log(1 + b.InputTokens);
        var dOut = Math.Log(1 + a.OutputTokens) - Math.Log(1 + b.OutputTokens);
        return (InputWeight * Math.Exp(-(dIn * dIn) / _twoSigmaSquared)) + (OutputWeight * Math.Exp(-(dOut * dOut) / _twoSigmaSquared));
    }

    /// <summary>
    /// The template of the same application and stage count whose first stages are most similar to the job's
    /// <paramref name="closed"/> stages; ties go to the earliest added. Null when there is no such template or
    /// no stage has closed yet (then every template is equally similar).
    /// </summary>
    public GraphTemplate? Nearest(string app, int stageCount, IReadOnlyList<StageNode> closed)
    {
        if (closed.Count == 0)
        {
            return null;
        }

        GraphTemplate? best = null;
        var bestScore = double.NegativeInfinity;
        foreach (var t in _templates)
        {
            if (!Fits(t, app, stageCount) || t.Stages.Count < closed.Count)
            {
                continue;
            }

            var score = 0.0;
            for (var s = 0; s < closed.Count; s++)
            {
                score += Similarity(closed[s], t.Stages[s]);
            }

            if (score > bestScore)
            {
                bestScore = score;
                best = t;
            }
        }

        return best;
    }

    /// <summary>
    /// Inclusive cumulative fraction <c>F(≤ stage)</c> of a job's deadline for a call of <paramref name="stage"/>
    /// (Q16). Before any stage has closed there is nothing to match, so the mean over all templates of the same
    /// application and stage count is used; with closed stages, the nearest template's; with no templates, the
    /// application's default structure. The last stage always gets 1.
    /// </summary>
    public double CumulativeFraction(string app, int stageCount, IReadOnlyList<StageNode> closed, int stage)
    {
        if (stage >= stageCount - 1)
        {
            return 1;
        }

        if (Nearest(app, stageCount, closed) is { } nearest)
        {
            return nearest.CumulativeFraction(stage);
        }

        var sum = 0.0;
        var n = 0;
        foreach (var t in _templates)
        {
            if (Fits(t, app, stageCount))
            {
                sum += t.CumulativeFraction(stage);
                n++;
            }
        }

        return n > 0 ? sum / n : GraphTemplate.Default(app, stageCount).CumulativeFraction(stage);
    }

    private static bool Fits(GraphTemplate t, string app, int stageCount) =>
        t.StageCount == stageCount && string.Equals(t.App, app, StringComparison.Ordinal);
}
