using System.CommandLine;
using System.Globalization;

using Microsoft.Extensions.Logging;

using Tempo.Backends;
using Tempo.Core;
using Tempo.Scheduling;
using Tempo.Scheduling.Prediction;
using Tempo.Server;
using Tempo.Simulation.Profiles;

namespace Tempo.Cli;

/// <summary><c>tempo serve</c>: the OpenAI-compatible server over a GGUF model or the paced simulator.</summary>
internal static class ServeCommand
{
    private static readonly Option<string?> ModelOption = new("--model", "-m") { Description = "GGUF model file to serve (real engine, llama.cpp on the CPU)" };

    private static readonly Option<string?> EngineOption = new("--engine") { Description = "'sim': the cost model paced in real time, placeholder tokens, no model needed (default when --model is absent: required)" };

    private static readonly Option<string> ProfileOption = new("--profile")
    {
        Description = "cost profile of --engine sim: built-in name (llama3.1-8b-a100, llama3.1-8b-h100) or a profile JSON file",
        DefaultValueFactory = _ => CostProfile.DefaultName,
    };

    private static readonly Option<double> SimSpeedOption = new("--sim-speed") { Description = "time compression of --engine sim (1 = real time, 10 = ten times faster)", DefaultValueFactory = _ => 1.0 };

    private static readonly Option<string> PolicyOption = new("--policy", "-p") { Description = "scheduling policy", DefaultValueFactory = _ => "tempo" };

    private static readonly Option<int> MaxBatchOption = new("--max-batch") { Description = "maximum sequences per step", DefaultValueFactory = _ => 32 };

    private static readonly Option<int?> TokenBudgetOption = new("--token-budget") { Description = "tokens per step (default: the policy's own; capped by the model's context)" };

    private static readonly Option<string> HostOption = new("--host") { Description = "address to bind (loopback unless told otherwise; 0.0.0.0 for all interfaces)", DefaultValueFactory = _ => "127.0.0.1" };

    private static readonly Option<int> PortOption = new("--port") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => 8000 };

    private static readonly Option<string?> ApiKeyOption = new("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1/* (as vLLM)" };

    private static readonly Option<int> MaxQueueOption = new("--max-queue") { Description = "most requests waiting to be scheduled; more get 429 with Retry-After", DefaultValueFactory = _ => 256 };

    private static readonly Option<string> DefaultClassOption = new("--default-slo-class") { Description = "class of requests without an SLO: latency or throughput", DefaultValueFactory = _ => "latency" };

    private static readonly Option<double> DefaultTtftOption = new("--default-slo-ttft-ms") { Description = "default TTFT objective, ms", DefaultValueFactory = _ => 1000 };

    private static readonly Option<double> DefaultTbtOption = new("--default-slo-tbt-ms") { Description = "default time-between-tokens objective, ms", DefaultValueFactory = _ => 100 };

    private static readonly Option<double> DefaultDeadlineOption = new("--default-slo-deadline-ms") { Description = "default end-to-end deadline (throughput) or job deadline (collective), ms", DefaultValueFactory = _ => 10_000 };

    private static readonly Option<int> DefaultMaxTokensOption = new("--default-max-tokens") { Description = "max_tokens of requests that omit it (capped by the context)", DefaultValueFactory = _ => 256 };

    private static readonly Option<string?> ServedNameOption = new("--served-model-name") { Description = "model name clients send (default: the GGUF file name, or sim-<profile>)" };

    private static readonly Option<int?> ThreadsOption = new("--threads") { Description = "CPU threads of the real engine (default: all cores)" };

    private static readonly Option<int?> ContextOption = new("--ctx-size") { Description = "KV cells of the real engine, shared by all sequences (default: the model's training context)" };

    private static readonly Option<string> KvLayoutOption = new("--kv-layout") { Description = "KV cache of the real engine: shared (one pool, each token attends over all cells in use) or per-sequence (one slice per batch slot, attention over its own)", DefaultValueFactory = _ => "shared" };

    private static readonly Option<string?> StepLogOption = new("--step-log") { Description = "append every executed step (time, duration, batch shape) to this JSON-lines file, for 'tempo fidelity'" };

    private static readonly Option<string> PredictorOption = new("--predictor") { Description = "length predictor of tempo, sjf and slos-serve: fixed (1,024 tokens) or qrf (needs --predictor-model)", DefaultValueFactory = _ => "fixed" };

    private static readonly Option<string?> PredictorModelOption = new("--predictor-model") { Description = "QRF model file for --predictor qrf (from 'tempo predictor train')" };

    private static readonly Option<double> GraceOption = new("--shutdown-grace-s") { Description = "on SIGTERM, seconds in-flight requests get to finish before they are aborted", DefaultValueFactory = _ => 10 };

    private static readonly Option<double> StatsOption = new("--stats-interval-s") { Description = "seconds between stats log lines (0 = off)", DefaultValueFactory = _ => 10 };

    private static readonly Option<string> LogLevelOption = new("--log-level") { Description = "trace, debug (one line per request), information, warning or error", DefaultValueFactory = _ => "information" };

    private static readonly Option<bool> ShedOption = new("--shed-unattainable") { Description = "answer 429 (code slo_unattainable, Retry-After) for a request whose SLO can no longer be met before its first token, so a client or router can go elsewhere (tempo and tempo-oracle)" };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("serve", "Serve an OpenAI-compatible API (chat/completions, completions, models, health, Prometheus metrics) with SLO-aware scheduling.");
        foreach (var option in new Option[] { ModelOption, EngineOption, ProfileOption, SimSpeedOption, PolicyOption, MaxBatchOption, TokenBudgetOption, HostOption, PortOption, ApiKeyOption, MaxQueueOption, DefaultClassOption, DefaultTtftOption, DefaultTbtOption, DefaultDeadlineOption, DefaultMaxTokensOption, ServedNameOption, ThreadsOption, ContextOption, KvLayoutOption, StepLogOption, PredictorOption, PredictorModelOption, GraceOption, StatsOption, LogLevelOption, ShedOption })
        {
            command.Options.Add(option);
        }

        TempoAblationOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    private static ILengthPredictor? ReadPredictor(ParseResult parse) =>
        ServerPredictor(parse.GetValue(PredictorOption)!, parse.GetValue(PredictorModelOption));

    /// <summary>The predictor a server runs with: null for the fixed bound, or a trained QRF.</summary>
    internal static ILengthPredictor? ServerPredictor(string predictor, string? model)
    {
        var name = predictor.Trim().ToLowerInvariant();
        return name switch
        {
            "fixed" when model is null => null,
            "qrf" when model is not null => LengthPredictors.Create("qrf", model),
            "qrf" => throw new CliUsageException("--predictor qrf needs --predictor-model FILE (train one with 'tempo predictor train')"),
            "oracle" => throw new CliUsageException("--predictor oracle: a server cannot see true response lengths; use fixed or qrf"),
            "fixed" => throw new CliUsageException("--predictor-model is only used with --predictor qrf"),
            _ => throw new CliUsageException($"--predictor: unknown predictor '{name}'; use fixed or qrf"),
        };
    }

    internal static ServerOptions ReadOptions(ParseResult parse)
    {
        var cls = parse.GetValue(DefaultClassOption)!.Trim().ToLowerInvariant() switch
        {
            "latency" => RequestClass.Latency,
            "throughput" => RequestClass.Throughput,
            var other => throw new CliUsageException($"--default-slo-class: '{other}' is not latency or throughput"),
        };
        var options = new ServerOptions
        {
            Host = parse.GetValue(HostOption)!,
            Port = parse.GetValue(PortOption),
            ApiKey = parse.GetValue(ApiKeyOption),
            Policy = PolicyRegistry.Get(parse.GetValue(PolicyOption)!).Name,
            MaxBatch = OptionParsing.Positive(parse.GetValue(MaxBatchOption), "--max-batch"),
            TokenBudget = parse.GetValue(TokenBudgetOption) is { } b ? OptionParsing.Positive(b, "--token-budget") : null,
            MaxQueue = OptionParsing.Positive(parse.GetValue(MaxQueueOption), "--max-queue"),
            DefaultClass = cls,
            DefaultSlo = new Slo(Ms(parse, DefaultTtftOption), Ms(parse, DefaultTbtOption), Ms(parse, DefaultDeadlineOption)),
            DefaultMaxTokens = OptionParsing.Positive(parse.GetValue(DefaultMaxTokensOption), "--default-max-tokens"),
            ServedModelName = parse.GetValue(ServedNameOption),
            ShutdownGrace = Seconds(parse.GetValue(GraceOption), "--shutdown-grace-s"),
            StatsInterval = Seconds(parse.GetValue(StatsOption), "--stats-interval-s"),
            HandleProcessSignals = true,
            StepLogPath = parse.GetValue(StepLogOption),
            Predictor = ReadPredictor(parse),
            ShedUnattainable = parse.GetValue(ShedOption),
            Tempo = TempoAblationOptions.Read(parse).Select,
        };
        if (options.ShedUnattainable && !PolicyRegistry.Get(options.Policy).Sheds)
        {
            var shedding = string.Join(", ", PolicyRegistry.All.Where(p => p.Sheds).Select(p => p.Name));
            throw new CliUsageException($"--shed-unattainable: policy '{options.Policy}' does not judge whether an SLO can still be met; use {shedding}");
        }

        options.Validate();
        return options;
    }

    private static int Run(ParseResult parse)
    {
        var options = ReadOptions(parse);
        var level = parse.GetValue(LogLevelOption)!.Trim().ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "information" or "info" => LogLevel.Information,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            var other => throw new CliUsageException($"--log-level: unknown level '{other}'"),
        };
        var backend = CreateBackend(parse, options);
        TempoServer server;
        try
        {
            server = TempoServer.StartAsync(options, backend, TempoServer.ConsoleLogging(level)).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not (ArgumentException or IOException))
        {
            // StartAsync has released the backend already.
            throw new CliUsageException($"could not start the server: {e.Message}");
        }

        // SIGTERM and Ctrl+C stop the host, which drains (see --shutdown-grace-s) before this returns.
        server.WaitForShutdownAsync().GetAwaiter().GetResult();
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    private static IServingBackend CreateBackend(ParseResult parse, ServerOptions options)
    {
        var model = parse.GetValue(ModelOption);
        var engine = parse.GetValue(EngineOption)?.Trim().ToLowerInvariant();
        switch (engine)
        {
            case "sim":
                if (model is not null)
                {
                    throw new CliUsageException("--engine sim runs without a model; leave out --model");
                }

                var speed = parse.GetValue(SimSpeedOption);
                if (!double.IsFinite(speed) || speed <= 0)
                {
                    throw new CliUsageException($"--sim-speed must be a positive number, got {speed.ToString(CultureInfo.InvariantCulture)}");
                }

                return new SimulatedBackend(CostProfile.Load(parse.GetValue(ProfileOption)!), speed, options.ServedModelName);
            case null or "llama":
                if (model is null)
                {
                    throw new CliUsageException("give --model FILE.gguf to serve a model, or --engine sim to serve the simulator");
                }

                var threads = parse.GetValue(ThreadsOption);
                var ctx = parse.GetValue(ContextOption);
                var llama = LlamaBackend.Load(model, threads is { } t ? OptionParsing.Positive(t, "--threads") : null, ctx is { } c ? OptionParsing.Positive(c, "--ctx-size") : null, options.ServedModelName, CalibrateCommand.ParseKvLayout(parse.GetValue(KvLayoutOption)!));
                Console.Error.WriteLine($"tempo serve: chat prompts use {llama.ChatFormat}");
                return llama;
            default:
                throw new CliUsageException($"--engine: unknown engine '{engine}'; use sim (or --model FILE.gguf)");
        }
    }

    private static double Ms(ParseResult parse, Option<double> option)
    {
        var ms = parse.GetValue(option);
        return double.IsFinite(ms) && ms > 0 && ms <= ServerOptions.MaxSloMs
            ? ms / 1000
            : throw new CliUsageException($"{option.Name} must be a positive number of milliseconds up to 24 h, got {ms.ToString(CultureInfo.InvariantCulture)}");
    }

    private static TimeSpan Seconds(double seconds, string option) =>
        double.IsFinite(seconds) && seconds >= 0 && seconds <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new CliUsageException($"{option} must be a non-negative number of seconds, got {seconds.ToString(CultureInfo.InvariantCulture)}");
}
