using System.CommandLine;
using System.Globalization;

using Spectre.Console;

using Tempo.LoadGen;
using Tempo.Reports;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo bench</c>: replays a workload open-loop against any OpenAI-compatible server and reports the simulator's
/// metrics measured from the client side (docs/BENCH.md).
/// </summary>
internal static class BenchCommand
{
    /// <summary>Default number of top-level arrivals: a short run (about 17 s at the mixed workload's 6/s).</summary>
    public const int DefaultRequests = 100;

    private static readonly Option<string?> UrlOption = new("--url", "-u")
    {
        Description = "server root, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted)",
    };

    private static readonly Option<string> WorkloadOption = new("--workload", "-w")
    {
        Description = $"built-in workload ({string.Join(", ", WorkloadCatalog.Names.Select(n => n.Name))}) or a .jsonl/.csv file",
        DefaultValueFactory = _ => "mixed",
    };

    private static readonly Option<double?> RateOption = new("--rate", "-r")
    {
        Description = "offered load in top-level arrivals/s (default: the workload's own rate)",
    };

    private static readonly Option<int?> RequestsOption = new("--requests", "-n")
    {
        Description = $"top-level arrivals to send, a collective job counting once (default {DefaultRequests}; with --duration, as many as fit)",
    };

    private static readonly Option<double?> DurationOption = new("--duration", "-d")
    {
        Description = "stop sending new arrivals this many seconds after the first (requests in flight still finish)",
    };

    private static readonly Option<int> SeedOption = new("--seed")
    {
        Description = "seed of the workload; same seed, same requests and schedule",
        DefaultValueFactory = _ => 42,
    };

    private static readonly Option<string?> ApiKeyOption = new("--api-key")
    {
        Description = "bearer token sent in the Authorization header",
    };

    private static readonly Option<string?> ModelOption = new("--model", "-m")
    {
        Description = "model name to send (default: the first id of GET /v1/models, else \"default\")",
    };

    private static readonly Option<string> EndpointOption = new("--endpoint")
    {
        Description = "completions (POST /v1/completions, default) or chat (POST /v1/chat/completions)",
        DefaultValueFactory = _ => "completions",
    };

    private static readonly Option<double> TimeoutOption = new("--timeout")
    {
        Description = "seconds one request may take from send to the end of its stream before it is aborted",
        DefaultValueFactory = _ => BenchOptions.DefaultTimeout.TotalSeconds,
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

    private static readonly Option<string> ArrivalOption = new("--arrival")
    {
        Description = "arrival process of synthetic workloads: reference (artifact's Poisson-ms), poisson, gamma",
        DefaultValueFactory = _ => "reference",
    };

    private static readonly Option<double> CvOption = new("--cv")
    {
        Description = "coefficient of variation of gamma arrivals (bursty when > 1)",
        DefaultValueFactory = _ => 2.0,
    };

    private static readonly Option<string?> LabelOption = new("--label")
    {
        Description = "name of this run in the table and files (default: the model name)",
    };

    private static readonly Option<bool> NoSloOption = new("--no-slo")
    {
        Description = "do not send the slo body field and SLO headers (the metrics still use the workload's SLOs)",
    };

    private static readonly Option<int> MaxInFlightOption = new("--max-in-flight")
    {
        Description = "safety limit on concurrent requests (open loop: should never be reached)",
        DefaultValueFactory = _ => BenchOptions.DefaultMaxInFlight,
    };

    private static readonly Option<bool> PromptIdsOption = new("--prompt-ids")
    {
        Description = "send each completions prompt as exactly the workload's number of token ids instead of text (completions endpoint only)",
    };

    private static readonly Option<string?> RecordsOption = new("--records")
    {
        Description = "CSV file for one row per request (id, class, TTFT, E2E, SLO met, gain; docs/RESULTS.md)",
    };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("bench", "Replay a workload open-loop against an OpenAI-compatible server (ours, vLLM, llama.cpp) and report service gain, goodput, attainment and latency measured by the client.");
        foreach (var option in new Option[] { UrlOption, WorkloadOption, RateOption, RequestsOption, DurationOption, SeedOption, ApiKeyOption, ModelOption, EndpointOption, TimeoutOption, OutOption, FormatOption, ArrivalOption, CvOption, LabelOption, NoSloOption, MaxInFlightOption, PromptIdsOption, RecordsOption })
        {
            command.Options.Add(option);
        }

        WorkloadScaleOptions.AddTo(command);

        command.SetAction((parse, cancel) => Task.FromResult(CliErrors.Guard(() => Run(Read(parse), cancel))));
        return command;
    }

    private static Settings Read(ParseResult parse)
    {
        var url = parse.GetValue(UrlOption) ?? throw new CliUsageException("--url is required (the server root, e.g. http://127.0.0.1:8000)");
        var rate = parse.GetValue(RateOption);
        if (rate is { } r && (!double.IsFinite(r) || r <= 0))
        {
            throw new CliUsageException($"--rate must be a positive number of arrivals per second, got {r.ToString(CultureInfo.InvariantCulture)}");
        }

        var duration = parse.GetValue(DurationOption);
        if (duration is { } d && (!double.IsFinite(d) || d <= 0))
        {
            throw new CliUsageException($"--duration must be a positive number of seconds, got {d.ToString(CultureInfo.InvariantCulture)}");
        }

        var timeout = parse.GetValue(TimeoutOption);
        if (!double.IsFinite(timeout) || timeout <= 0)
        {
            throw new CliUsageException($"--timeout must be a positive number of seconds, got {timeout.ToString(CultureInfo.InvariantCulture)}");
        }

        var cv = OptionParsing.PositiveCv(parse.GetValue(CvOption));

        var endpoint = parse.GetValue(EndpointOption)!.Trim().ToLowerInvariant() switch
        {
            "completions" => ApiEndpoint.Completions,
            "chat" => ApiEndpoint.Chat,
            var other => throw new CliUsageException($"--endpoint: unknown endpoint '{other}'; use completions or chat"),
        };
        var promptIds = parse.GetValue(PromptIdsOption);
        if (promptIds && endpoint == ApiEndpoint.Chat)
        {
            throw new CliUsageException("--prompt-ids needs --endpoint completions: chat messages are text");
        }

        var format = OptionParsing.Format(parse.GetValue(FormatOption)!);
        var arrival = OptionParsing.Arrival(parse.GetValue(ArrivalOption)!);
        var requests = parse.GetValue(RequestsOption);
        var model = parse.GetValue(ModelOption);
        if (model is not null && string.IsNullOrWhiteSpace(model))
        {
            throw new CliUsageException("--model must not be empty");
        }

        return new Settings
        {
            BaseUrl = ServerUrl.Parse(url),
            Workload = parse.GetValue(WorkloadOption)!,
            Rate = rate,

            // With a duration and no count, generate the workload's full default length and let the clock cut it.
            Requests = requests is { } n ? OptionParsing.Positive(n, "--requests") : duration is null ? DefaultRequests : null,
            DurationS = duration,
            Seed = parse.GetValue(SeedOption),
            ApiKey = parse.GetValue(ApiKeyOption),
            Model = model,
            Endpoint = endpoint,
            Timeout = TimeSpan.FromSeconds(timeout),
            OutDir = OptionParsing.OutFolder(parse.GetValue(OutOption)),
            Format = format,
            Arrival = arrival,
            BurstCv = cv,
            Label = parse.GetValue(LabelOption),
            SendSlo = !parse.GetValue(NoSloOption),
            MaxInFlight = OptionParsing.Positive(parse.GetValue(MaxInFlightOption), "--max-in-flight"),
            PromptIds = promptIds,
            Scale = WorkloadScaleOptions.Read(parse),
            RecordsFile = OptionParsing.RecordsFile(parse.GetValue(RecordsOption)),
        };
    }

    private static int Run(Settings settings, CancellationToken cancel)
    {
        // Everything that can fail on bad input is resolved before the first request is sent.
        var workload = WorkloadCatalog.Create(settings.Workload, settings.Scale.Apply(new WorkloadOptions
        {
            Requests = settings.Requests,
            Rate = settings.Rate,
            Seed = settings.Seed,
            Arrival = settings.Arrival,
            BurstCv = settings.BurstCv,
        }));
        var options = new BenchOptions
        {
            BaseUrl = settings.BaseUrl,
            Endpoint = settings.Endpoint,
            Model = settings.Model,
            ApiKey = settings.ApiKey,
            Timeout = settings.Timeout,
            DurationS = settings.DurationS,
            MaxInFlight = settings.MaxInFlight,
            SendSlo = settings.SendSlo,
            PromptTokenIds = settings.PromptIds,
        };
        options.Validate();

        Console.Error.WriteLine($"tempo bench: {workload.Name}, {workload.Arrivals} arrivals ({workload.Requests.Count} calls) against {settings.BaseUrl}{(settings.DurationS is { } d ? $", sending for at most {d.ToString(CultureInfo.InvariantCulture)} s" : "")}");
        var result = RunWithProgress(workload, options, cancel);
        WriteSummary(result);

        var label = settings.Label ?? result.Model;
        var rate = settings.Rate ?? Math.Round(result.ScheduledRate, 3);
        var doc = result.ToDocument(settings.Describe(workload.Name, result), label, rate);
        if (settings.RecordsFile is { } records)
        {
            ResultsOutput.WriteRecords(records, [new RunRecords(label, rate, result.Records, options.Weights)]);
        }

        ResultsOutput.Write(doc, settings.OutDir, settings.Format,
            $"[bold]{Markup.Escape(workload.Name)}[/] against [bold]{Markup.Escape(settings.BaseUrl.ToString())}[/] (model {Markup.Escape(result.Model)}), {result.Sent} calls sent, seed {settings.Seed}, measured by the client");

        // Exit 3 when nothing completed: the numbers describe a server that was not serving.
        return result.Metrics.Total.Completed > 0 ? 0 : 3;
    }

    private static BenchResult RunWithProgress(Workload workload, BenchOptions options, CancellationToken cancel)
    {
        var generator = new LoadGenerator();
        if (Console.IsErrorRedirected)
        {
            // No terminal (CI, pipes): a plain line every few seconds and one at the end.
            var nextLine = 0.0;
            var plain = new SynchronousProgress<BenchProgress>(p =>
            {
                if (p.ElapsedS >= nextLine || p.Ended == p.Planned)
                {
                    nextLine = p.ElapsedS + 5;
                    Console.Error.WriteLine(Describe(p));
                }
            });
            return generator.RunAsync(workload, options, plain, cancel).GetAwaiter().GetResult();
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        BenchResult? result = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("connecting", maxValue: 1);
                var live = new SynchronousProgress<BenchProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Planned);
                    task.Value = p.Ended;
                    task.Description = Markup.Escape(Describe(p));
                });
                result = await generator.RunAsync(workload, options, live, cancel).ConfigureAwait(false);
                task.Value = task.MaxValue;
            })
            .GetAwaiter().GetResult();
        return result!;
    }

    private static string Describe(BenchProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{p.ElapsedS:0.0} s: sent {p.Sent}/{p.Planned}, done {p.Ended}, in flight {p.InFlight}, failed {p.Failed}");

    private static void WriteSummary(BenchResult r)
    {
        var err = Console.Error;
        var inv = CultureInfo.InvariantCulture;
        err.WriteLine(r.ModelProblem is { } problem ? $"model: \"{r.Model}\" ({problem})" : $"model: {r.Model}");
        var completed = r.Metrics.Total.Completed;
        err.WriteLine(string.Create(inv, $"sent {r.Sent} of {r.Planned} planned calls in {r.WallS:0.0} s: {completed} completed, {r.Metrics.Total.Requests - completed} aborted; peak {r.PeakInFlight} in flight"));
        if (r.ErrorsByKind.Count > 0 || r.Abandoned > 0)
        {
            var parts = r.ErrorsByKind.Select(kv => $"{kv.Value} {kv.Key}").ToList();
            if (r.Abandoned > 0)
            {
                parts.Add($"{r.Abandoned} never sent (job abandoned)");
            }

            err.WriteLine($"errors: {string.Join(", ", parts)}");
            var example = r.Records.FirstOrDefault(x => x.Detail is not null && !x.Detail.StartsWith("job abandoned", StringComparison.Ordinal))?.Detail;
            if (example is not null)
            {
                err.WriteLine($"  e.g. {example}");
            }
        }

        if (r.NotSent > 0)
        {
            err.WriteLine($"cancelled: {r.NotSent} planned calls were never sent");
        }

        if (r.BeyondDuration > 0)
        {
            err.WriteLine($"duration limit: {r.BeyondDuration} workload calls arrive later and were not sent");
        }

        if (r.RetriedOnFreshConnection > 0)
        {
            err.WriteLine($"note: {r.RetriedOnFreshConnection} sends lost their connection before any response (a keep-alive connection the server had closed, usually) and were sent again on a fresh connection");
        }

        if (r.DelayedByLimit > 0)
        {
            err.WriteLine($"warning: {r.DelayedByLimit} sends waited for the in-flight limit; the replay was not fully open-loop (raise --max-in-flight)");
        }

        if (r.RequestedOutputTokens > 0)
        {
            var prompt = r.SpecPromptTokens > 0 ? string.Create(inv, $"prompt tokens {(double)r.ReportedPromptTokens / r.SpecPromptTokens:0.00}x the workload's (server count)") : "no prompt usage reported";
            err.WriteLine(string.Create(inv, $"tokens: output {r.OutputTokens} of {r.RequestedOutputTokens} requested; {prompt}; usage in {r.WithUsage}/{completed} responses; {r.ChunkCountMismatches} with chunk count != usage (re-attributed)"));
        }
    }

    /// <summary>Validated settings of one <c>tempo bench</c> invocation.</summary>
    private sealed record Settings
    {
        public required Uri BaseUrl { get; init; }

        public required string Workload { get; init; }

        public double? Rate { get; init; }

        public int? Requests { get; init; }

        public double? DurationS { get; init; }

        public required int Seed { get; init; }

        public string? ApiKey { get; init; }

        public string? Model { get; init; }

        public required ApiEndpoint Endpoint { get; init; }

        public required TimeSpan Timeout { get; init; }

        public string? OutDir { get; init; }

        public required OutputFormat Format { get; init; }

        public required ArrivalProcess Arrival { get; init; }

        public required double BurstCv { get; init; }

        public string? Label { get; init; }

        public required bool SendSlo { get; init; }

        public required int MaxInFlight { get; init; }

        public required bool PromptIds { get; init; }

        public required WorkloadScale Scale { get; init; }

        public string? RecordsFile { get; init; }

        /// <summary>Key/value record of the configuration for results files (never the API key).</summary>
        public Dictionary<string, string> Describe(string workloadName, BenchResult result) => new Dictionary<string, string>
        {
            ["client"] = "tempo bench",
            ["url"] = BaseUrl.ToString(),
            ["endpoint"] = Endpoint == ApiEndpoint.Chat ? "chat" : "completions",
            ["model"] = result.Model,
            ["workload"] = workloadName,
            ["rate"] = Rate?.ToString(CultureInfo.InvariantCulture) ?? "workload default",
            ["scheduled_rate"] = result.ScheduledRate.ToString("0.###", CultureInfo.InvariantCulture),
            ["requests"] = Requests?.ToString(CultureInfo.InvariantCulture) ?? "workload default",
            ["duration_s"] = DurationS?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["length_scale"] = Scale.Length.ToString(CultureInfo.InvariantCulture),
            ["slo_scale"] = Scale.Slo.ToString(CultureInfo.InvariantCulture),
            ["arrival"] = Arrival == ArrivalProcess.Gamma ? $"gamma(cv={BurstCv.ToString(CultureInfo.InvariantCulture)})" : Arrival.ToString().ToLowerInvariant(),
            ["timeout_s"] = Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["slo_sent"] = SendSlo ? "yes" : "no",
            ["prompt"] = PromptIds ? "token ids" : "text",
            ["sent"] = result.Sent.ToString(CultureInfo.InvariantCulture),
            ["retried_on_fresh_connection"] = result.RetriedOnFreshConnection.ToString(CultureInfo.InvariantCulture),
            ["errors"] = result.ErrorsByKind.Count == 0 ? "none" : string.Join(", ", result.ErrorsByKind.Select(kv => $"{kv.Key}={kv.Value}")),
        };
    }
}
