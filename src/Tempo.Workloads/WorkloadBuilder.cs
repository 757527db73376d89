using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>
/// Turns top-level arrivals into <see cref="RequestSpec"/>s with their scaled SLOs and, for collective jobs, their
/// call graphs. Ids are assigned at <see cref="Build"/> in arrival order, so they do not depend on how the arrivals
/// were produced (two streams, a trace, …).
/// </summary>
internal sealed class WorkloadBuilder
{
    /// <summary>Stages of a tree-of-thought job: generate×3, value, generate×3 (revise), value (docs/TEMPO.md §1.4).</summary>
    public static readonly IReadOnlyList<int> TreeOfThoughtStages = [3, 1, 3, 1];

    /// <summary>max_tokens of every tree-of-thought call.</summary>
    public const int TreeOfThoughtMaxOutput = 256;

    /// <summary>Tokens of the value call's instruction ("evaluate the choices, pick the best"); an estimate.</summary>
    public const int ValueInstructionTokens = 40;

    /// <summary>Tokens of "Please review and revise the response." plus its framing; an estimate.</summary>
    public const int ReviseInstructionTokens = 10;

    /// <summary>Application name of tree-of-thought jobs.</summary>
    public const string TreeOfThoughtApp = "tot";

    /// <summary>Application name of deep-research jobs.</summary>
    public const string DeepResearchApp = "deep-research";

    private readonly WorkloadOptions _options;
    private readonly List<RequestSpec> _specs = [];
    private readonly Sampler _jobOrder;
    private List<RecordedJob>? _deepResearch;
    private int _nextDeepResearch;
    private long _nextJob;

    public WorkloadBuilder(WorkloadOptions options)
    {
        _options = options;
        _jobOrder = new Sampler(options.Seed, WorkloadStream.DeepResearchJobs);
    }

    /// <summary>A streaming chat request with the base triple × m.</summary>
    public void AddLatency(double arrival, int m, int prompt, int output, string? text, int client) =>
        Add(new RequestSpec
        {
            Id = 0,
            ArrivalS = arrival,
            Class = RequestClass.Latency,

            // The artifact also derives deadline = TTFT_k + TBT_k·true_length and sends it to the server; that leaks
            // the true length, so the deadline here is the scaled TTLT instead (the gain rule uses TTFT and TBT only).
            Slo = RequestSlo(m),
            PromptTokens = _options.ScaleTokens(prompt),
            OutputTokens = _options.ScaleTokens(output),
            ClientId = client,
            PromptText = text,
        });

    /// <summary>A full-response request whose deadline is TTLT × m.</summary>
    public void AddThroughput(double arrival, int m, int prompt, int output, string? text, int client) =>
        Add(new RequestSpec
        {
            Id = 0,
            ArrivalS = arrival,
            Class = RequestClass.Throughput,
            Slo = RequestSlo(m),
            PromptTokens = _options.ScaleTokens(prompt),
            OutputTokens = _options.ScaleTokens(output),
            ClientId = client,
            PromptText = text,
        });

    /// <summary>
    /// A tree-of-thought job built from one chat prompt (evaluation note A.3, docs/WORKLOADS.md): every call generates min(output, 256)
    /// tokens; generate calls see the prompt (round 2: plus the best thought and a revise instruction); value calls
    /// see the prompt, the three thoughts and an instruction. Job deadline TTLT × m × 4. Under a length scale the
    /// chat prompt, the thought and the instructions are scaled first and the call prompts derived from them, so a
    /// value call's prompt still holds exactly three of the scaled thoughts.
    /// </summary>
    public void AddTreeOfThought(double arrival, int m, int prompt, int output, string? text, int client)
    {
        var job = _nextJob++;
        var chatPrompt = _options.ScaleTokens(prompt);
        var thought = _options.ScaleTokens(Math.Min(output, TreeOfThoughtMaxOutput));
        var slo = JobSlo(m, TreeOfThoughtStages.Count);
        for (var stage = 0; stage < TreeOfThoughtStages.Count; stage++)
        {
            var callPrompt = stage switch
            {
                0 => chatPrompt,
                2 => chatPrompt + thought + _options.ScalePart(ReviseInstructionTokens),
                _ => chatPrompt + (3 * thought) + _options.ScalePart(ValueInstructionTokens),
            };
            var callText = text is null ? null : stage switch
            {
                0 => text,
                2 => text + " Please review and revise the response.",
                _ => "Here are three candidate answers to a question. Which one is best? Question: " + text,
            };
            for (var call = 0; call < TreeOfThoughtStages[stage]; call++)
            {
                Add(CollectiveCall(arrival, slo, job, stage, TreeOfThoughtStages.Count, TreeOfThoughtApp, callPrompt, thought, client, callText));
            }
        }
    }

    /// <summary>
    /// The next recorded deep-research job of the test split (in a seeded order, cycling), with its recorded token
    /// counts. Job deadline TTLT × m × its stage count.
    /// </summary>
    public void AddDeepResearch(double arrival, int m, int client)
    {
        if (_deepResearch is null)
        {
            _deepResearch = [.. DeepResearchJobs.Test];
            _jobOrder.Shuffle(_deepResearch);
        }

        var recorded = _deepResearch[_nextDeepResearch++ % _deepResearch.Count];
        var job = _nextJob++;
        var stages = recorded.Stages.Count;
        var slo = JobSlo(m, stages);
        for (var stage = 0; stage < stages; stage++)
        {
            foreach (var call in recorded.Stages[stage])
            {
                Add(CollectiveCall(arrival, slo, job, stage, stages, DeepResearchApp, _options.ScaleTokens(call.InputTokens), _options.ScaleTokens(call.OutputTokens), client, null));
            }
        }
    }

    /// <summary>Adds an arrival of <paramref name="kind"/> from one chat-sized (prompt, output) pair.</summary>
    public void Add(ArrivalKind kind, double arrival, int m, int prompt, int output, string? text, int client)
    {
        switch (kind)
        {
            case ArrivalKind.Latency:
                AddLatency(arrival, m, prompt, output, text, client);
                break;
            case ArrivalKind.Throughput:
                AddThroughput(arrival, m, prompt, output, text, client);
                break;
            case ArrivalKind.TreeOfThought:
                AddTreeOfThought(arrival, m, prompt, output, text, client);
                break;
            case ArrivalKind.DeepResearch:
                AddDeepResearch(arrival, m, client);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown arrival kind");
        }
    }

    /// <summary>Adds a ready-made spec (ids are reassigned at <see cref="Build"/>).</summary>
    public void Add(RequestSpec spec) => _specs.Add(spec);

    /// <summary>
    /// The workload: requests ordered by arrival (ties keep insertion order, so a job's calls stay in stage order),
    /// ids 0..n−1 in that order and job ids 0..j−1 in order of job arrival.
    /// </summary>
    public Workload Build(string name)
    {
        var ordered = _specs.Select((s, i) => (Spec: s, Order: i)).OrderBy(x => x.Spec.ArrivalS).ThenBy(x => x.Order).ToList();
        var jobIds = new Dictionary<long, long>();
        var requests = new List<RequestSpec>(ordered.Count);
        foreach (var (spec, _) in ordered)
        {
            long? jobId = null;
            if (spec.JobId is { } j)
            {
                if (!jobIds.TryGetValue(j, out var mapped))
                {
                    mapped = jobIds.Count;
                    jobIds[j] = mapped;
                }

                jobId = mapped;
            }

            requests.Add(spec with { Id = requests.Count, JobId = jobId });
        }

        var workload = new Workload(name, requests);
        workload.Validate();
        return workload;
    }

    /// <summary>The base triple × the tightness level m, then × the SLO scale.</summary>
    private Slo RequestSlo(int m) => _options.ScaleSlo(_options.SloBase.Scale(m));

    private Slo JobSlo(int m, int stages)
    {
        var scaled = _options.SloBase.Scale(m);
        return _options.ScaleSlo(scaled with { DeadlineS = scaled.DeadlineS * stages });
    }

    private static RequestSpec CollectiveCall(double arrival, Slo slo, long job, int stage, int stages, string app, int prompt, int output, int client, string? text) =>
        new()
        {
            Id = 0,
            ArrivalS = arrival,
            Class = RequestClass.Collective,
            Slo = slo,
            PromptTokens = prompt,
            OutputTokens = output,
            ClientId = client,
            JobId = job,
            Stage = stage,
            StageCount = stages,
            App = app,
            PromptText = text,
        };
}
