using System.CommandLine;
using System.Globalization;

using Spectre.Console;

using Tempo.Reports;
using Tempo.Scheduling;
using Tempo.Simulation.Experiments;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary><c>tempo simulate</c>: compare policies on a workload in the discrete-event simulator.</summary>
internal static class SimulateCommand
{
    internal static readonly Option<string> WorkloadOption = new("--workload", "-w")
    {
        Description = $"built-in workload ({string.Join(", ", WorkloadCatalog.Names.Select(n => n.Name))}) or a .jsonl/.csv file",
        DefaultValueFactory = _ => "mixed",
    };

    private static readonly Option<string?> PoliciesOption = new("--policies", "-p")
    {
        Description = "comma-separated policies (default: every registered policy)",
    };

    internal static readonly Option<string> RatesOption = new("--rates", "-r")
    {
        Description = "comma-separated offered loads in top-level arrivals/s (for traces: the rescaled mean rate)",
        DefaultValueFactory = _ => SimulateSettings.DefaultRates,
    };

    internal static readonly Option<int> RequestsOption = new("--requests", "-n")
    {
        Description = "top-level arrivals per run (a collective job counts once)",
        DefaultValueFactory = _ => SimulateSettings.DefaultRequests,
    };

    internal static readonly Option<string> ProfileOption = new("--profile")
    {
        Description = "cost profile: built-in name (llama3.1-8b-a100, llama3.1-8b-h100) or a profile JSON file",
        DefaultValueFactory = _ => "llama3.1-8b-a100",
    };

    internal static readonly Option<int> MaxBatchOption = new("--max-batch")
    {
        Description = "maximum sequences per step",
        DefaultValueFactory = _ => 32,
    };

    private static readonly Option<int?> TokenBudgetOption = new("--token-budget")
    {
        Description = "tokens per step (default: each policy's own, 512 chunked / 8192 for vllm)",
    };

    internal static readonly Option<int> SeedOption = new("--seed")
    {
        Description = "seed for workloads and policies; same seed, same results",
        DefaultValueFactory = _ => 42,
    };

    private static readonly Option<string?> OutOption = new("--out", "-o")
    {
        Description = "directory for results.json, results.csv and plots",
    };

    private static readonly Option<string> FormatOption = new("--format", "-f")
    {
        Description = "stdout format: table, json or csv",
        DefaultValueFactory = _ => "table",
    };

    internal static readonly Option<string> ArrivalOption = new("--arrival")
    {
        Description = "arrival process of synthetic workloads: reference (artifact's Poisson-ms), poisson, gamma",
        DefaultValueFactory = _ => "reference",
    };

    internal static readonly Option<double> CvOption = new("--cv")
    {
        Description = "coefficient of variation of gamma arrivals (bursty when > 1)",
        DefaultValueFactory = _ => 2.0,
    };

    private static readonly Option<string> PredictorOption = new("--predictor")
    {
        Description = "length predictor for policies that use one (sjf, tempo): qrf, fixed or oracle",
        DefaultValueFactory = _ => "qrf",
    };

    private static readonly Option<string?> PredictorModelOption = new("--predictor-model")
    {
        Description = "QRF model file (from 'tempo predictor train'); default: train on a held-out sample of the workload",
    };

    private static readonly Option<string?> RecordsOption = new("--records")
    {
        Description = "CSV file for one row per request of every run (id, class, TTFT, E2E, SLO met, gain; docs/RESULTS.md)",
    };

    private static readonly Option<double> CostBiasOption = new("--cost-bias")
    {
        Description = "tell the policies step costs this many times the simulated engine's true ones (0.7: too fast, 1.3: too slow); learning policies correct it online",
        DefaultValueFactory = _ => 1.0,
    };

    private static readonly Option<double> StepNoiseOption = new("--step-noise")
    {
        Description = "let every step take the profile's time times a random factor of mean 1 and this coefficient of variation (seeded by --seed; 0.25 is about the CPU engine's spread); 0: exact",
        DefaultValueFactory = _ => 0.0,
    };

    private static readonly Option<bool> ShedOption = new("--shed-unattainable")
    {
        Description = "let tempo and tempo-oracle end a request that has no token yet once its SLO cannot be met (as tempo serve --shed-unattainable); shed requests count as missed",
    };

    private static readonly Option<int> ReplicasOption = new("--replicas")
    {
        Description = "spread the workload over this many replicas of the engine, each under the policy, behind --router (the rates are the fleet's)",
        DefaultValueFactory = _ => 1,
    };

    private static readonly Option<string?> ReplicaSlowdownsOption = new("--replica-slowdowns")
    {
        Description = "unequal replicas: how many times slower than the profile each replica runs, e.g. 1,1,2.5 (cycled over --replicas)",
    };

    private static readonly Option<string> RouterOption = new("--router")
    {
        Description = $"how requests are placed on the replicas: {string.Join(", ", Fleet.RouterRegistry.Names)}",
        DefaultValueFactory = _ => "round-robin",
    };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("simulate", "Run a workload through the simulator under several scheduling policies and report service gain, goodput, attainment and latency.");
        foreach (var option in new Option[] { WorkloadOption, PoliciesOption, RatesOption, RequestsOption, ProfileOption, MaxBatchOption, TokenBudgetOption, SeedOption, OutOption, FormatOption, ArrivalOption, CvOption, PredictorOption, PredictorModelOption, RecordsOption, CostBiasOption, StepNoiseOption, ShedOption, ReplicasOption, RouterOption, ReplicaSlowdownsOption })
        {
            command.Options.Add(option);
        }

        WorkloadScaleOptions.AddTo(command);
        TempoAblationOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() => Run(Read(parse), TempoAblationOptions.Read(parse))));
        return command;
    }

    internal static SimulateSettings Read(ParseResult parse)
    {
        var policies = parse.GetValue(PoliciesOption) is { } p
            ? OptionParsing.List(p, "--policies").Select(name => PolicyRegistry.Get(name).Name).ToList()
            : [.. PolicyRegistry.All.Select(i => i.Name)];
        var format = OptionParsing.Format(parse.GetValue(FormatOption)!);
        var arrival = OptionParsing.Arrival(parse.GetValue(ArrivalOption)!);
        var cv = OptionParsing.PositiveCv(parse.GetValue(CvOption));

        var predictor = parse.GetValue(PredictorOption)!.Trim().ToLowerInvariant();
        if (!Tempo.Scheduling.Prediction.LengthPredictors.Names.Contains(predictor))
        {
            throw new CliUsageException($"--predictor: unknown predictor '{predictor}'; use {string.Join(", ", Tempo.Scheduling.Prediction.LengthPredictors.Names)}");
        }

        var tokenBudget = parse.GetValue(TokenBudgetOption);
        return new SimulateSettings
        {
            Workload = parse.GetValue(WorkloadOption)!,
            Policies = policies,
            Rates = OptionParsing.PositiveNumbers(parse.GetValue(RatesOption)!, "--rates"),
            Requests = OptionParsing.Positive(parse.GetValue(RequestsOption), "--requests"),
            Profile = parse.GetValue(ProfileOption)!,
            MaxBatch = OptionParsing.Positive(parse.GetValue(MaxBatchOption), "--max-batch"),
            TokenBudget = tokenBudget is { } b ? OptionParsing.Positive(b, "--token-budget") : null,
            Seed = parse.GetValue(SeedOption),
            OutDir = OptionParsing.OutFolder(parse.GetValue(OutOption)),
            Format = format,
            Arrival = arrival,
            BurstCv = cv,
            Predictor = predictor,
            PredictorModel = parse.GetValue(PredictorModelOption),
            Scale = WorkloadScaleOptions.Read(parse),
            RecordsFile = OptionParsing.RecordsFile(parse.GetValue(RecordsOption)),
            CostBias = OptionParsing.Scale(parse.GetValue(CostBiasOption), "--cost-bias"),
            ShedUnattainable = parse.GetValue(ShedOption),
            StepNoise = parse.GetValue(StepNoiseOption) is var noise && noise >= 0 && noise <= 10 ? noise : throw new CliUsageException($"--step-noise must be a coefficient of variation in [0, 10], got {noise.ToString(CultureInfo.InvariantCulture)}"),
            Replicas = OptionParsing.Positive(parse.GetValue(ReplicasOption), "--replicas"),
            Router = OptionParsing.Router(parse.GetValue(RouterOption)!),
            ReplicaSlowdowns = parse.GetValue(ReplicaSlowdownsOption) is { } slow ? OptionParsing.PositiveNumbers(slow, "--replica-slowdowns") : [],
        };
    }

    private static int Run(SimulateSettings settings, TempoAblation ablation)
    {
        // Everything that can fail on bad input is resolved before the first run starts.
        var profile = CostProfile.Load(settings.Profile);
        var workloadOptions = settings.WorkloadOptionsFor(rate: null);
        var probe = WorkloadCatalog.Create(settings.Workload, workloadOptions with { Rate = settings.Rates[0] });
        var predictor = PredictorSetup.For(settings, workloadOptions, Console.Error);

        var plan = new ExperimentPlan
        {
            Policies = settings.Policies,
            Rates = settings.Rates,
            Workload = rate => WorkloadCatalog.Create(settings.Workload, workloadOptions with { Rate = rate }),
            Profile = profile,
            MaxBatch = settings.MaxBatch,
            TokenBudget = settings.TokenBudget,
            Seed = settings.Seed,
            CostBias = settings.CostBias,
            ShedUnattainable = settings.ShedUnattainable,
            Replicas = settings.Replicas,
            Router = settings.Router,
            Simulation = new Simulation.SimulationOptions { ReplicaSlowdowns = settings.ReplicaSlowdowns, StepNoise = settings.StepNoise, NoiseSeed = settings.Seed },
            ConfigureOptions = (_, options) => ablation.Apply(options with { Predictor = predictor }),
            KeepRecords = settings.RecordsFile is not null,
        };

        var result = RunWithProgress(plan);
        var summaries = result.Runs.Select(r => r.ToSummary());
        var config = new Dictionary<string, string>(settings.Describe(probe.Name));
        foreach (var (k, v) in ablation.Describe())
        {
            config[k] = v;
        }

        var doc = ResultsDocument.From(config, summaries);
        if (settings.RecordsFile is { } records)
        {
            ResultsOutput.WriteRecords(records, [.. result.Runs.Select(r => new RunRecords(r.Policy, r.Rate, r.Records!, plan.Simulation.Weights))]);
        }

        ResultsOutput.Write(doc, settings.OutDir, settings.Format,
            $"[bold]{Markup.Escape(probe.Name)}[/] on [bold]{Markup.Escape(profile.Name)}[/], batch {settings.MaxBatch}, {settings.Requests} arrivals per run, seed {settings.Seed}");

        return result.Runs.Any(r => r.Outcome != Simulation.SimulationOutcome.Completed) ? 3 : 0;
    }

    private static ExperimentResult RunWithProgress(ExperimentPlan plan)
    {
        var total = plan.Policies.Count * plan.Rates.Count;
        if (Console.IsErrorRedirected)
        {
            // No terminal (CI, pipes): one plain line per finished run.
            return ExperimentRunner.Run(plan, new SynchronousProgress<RunProgress>(p => Console.Error.WriteLine(
                $"[{p.Completed}/{p.Total}] {p.Run.Policy} @ {p.Run.Rate.ToString(CultureInfo.InvariantCulture)}/s: attainment {p.Run.Metrics.Attainment.ToString("P1", CultureInfo.InvariantCulture)}, {p.Run.WallS.ToString("0.00", CultureInfo.InvariantCulture)} s")));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ExperimentResult? result = null;
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"simulating {total} runs", maxValue: total);
                result = ExperimentRunner.Run(plan, new SynchronousProgress<RunProgress>(p =>
                {
                    task.Value = p.Completed;
                    task.Description = $"{p.Run.Policy} @ {p.Run.Rate.ToString(CultureInfo.InvariantCulture)}/s done";
                }));
            });
        return result!;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (no synchronisation context hop).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    private readonly Lock _gate = new();

    public void Report(T value)
    {
        lock (_gate)
        {
            report(value);
        }
    }
}
