using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A minimal OTLP/HTTP trace and log receiver for tests: accepts protobuf ExportTraceServiceRequest bodies on /v1/traces and
/// keeps each span's service, trace id, span id, parent and name; accepts ExportLogsServiceRequest bodies on /v1/logs and keeps
/// each record's service, body and attributes. Reads only those fields of the OTLP schema (opentelemetry-proto trace/v1:
/// ResourceSpans = 1 → Resource = 1 (attributes = 1), ScopeSpans = 2 → spans = 2; Span: trace_id = 1, span_id = 2,
/// parent_span_id = 4, name = 5; logs/v1: ResourceLogs = 1 → Resource = 1, ScopeLogs = 2 → log_records = 2; LogRecord:
/// body = 5, attributes = 6; KeyValue: key = 1, value = 2; AnyValue: string_value = 1, array_value = 5, kvlist_value = 6,
/// bytes_value = 7), skipping everything else.
/// </summary>
public sealed class OtlpTestCollector : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public OtlpTestCollector()
    {
        var port = FreePort();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Endpoint { get; }

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name);

    public ConcurrentQueue<ReceivedLog> Logs { get; } = new();

    /// <summary>A log record: its body, its attributes' string values (null for other kinds), and whether any value was binary or a list.</summary>
    public sealed record ReceivedLog(string Service, string Body, IReadOnlyDictionary<string, string?> Attributes, bool HasBinaryOrListValue);

    /// <summary>The settings that point a service's OpenTelemetry SDK here (the standard variables).</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        // export spans and logs every 200 ms instead of 5 s and 1 s
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
    };

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.Url?.AbsolutePath == "/v1/traces") Read(body.ToArray());
            if (context.Request.Url?.AbsolutePath == "/v1/logs") ReadLogs(body.ToArray());
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    private void Read(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
        {
            var service = Service(resourceSpans);
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            foreach (var span in Fields(scopeSpans, 2))
                Spans.Enqueue(new ReceivedSpan(service, Hex(span, 1), Hex(span, 2), Hex(span, 4), Text(span, 5)));
        }
    }

    private void ReadLogs(byte[] request)
    {
        foreach (var resourceLogs in Fields(request, 1))
        {
            var service = Service(resourceLogs);
            foreach (var scopeLogs in Fields(resourceLogs, 2))
            foreach (var record in Fields(scopeLogs, 2))
            {
                var values = Fields(record, 6).Select(kv => (Key: Text(kv, 1), Value: Fields(kv, 2).FirstOrDefault() ?? [])).ToList();
                var attributes = new Dictionary<string, string?>();
                foreach (var (key, value) in values) attributes[key] = Fields(value, 1).Count > 0 ? Text(value, 1) : null;
                var binaryOrList = values.Select(v => v.Value).Concat(Fields(record, 5)).Any(v => Fields(v, 5).Count + Fields(v, 6).Count + Fields(v, 7).Count > 0);
                Logs.Enqueue(new ReceivedLog(service, Fields(record, 5).Select(b => Text(b, 1)).FirstOrDefault() ?? "", attributes, binaryOrList));
            }
        }
    }

    /// <summary>service.name of a ResourceSpans or ResourceLogs.</summary>
    private static string Service(byte[] resourceData)
    {
        foreach (var resource in Fields(resourceData, 1))
        foreach (var attribute in Fields(resource, 1))
        {
            if (Text(attribute, 1) == "service.name") return Fields(attribute, 2).Select(v => Text(v, 1)).FirstOrDefault() ?? "";
        }
        return "";
    }

    /// <summary>The length-delimited values of field <paramref name="number"/> in a protobuf message.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var values = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                values.Add(input.ReadBytes().ToByteArray());
            else
                input.SkipLastField();
        }
        return values;
    }

    private static string Text(byte[] message, int number) => Fields(message, number).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault() ?? "";

    private static string Hex(byte[] message, int number) => Fields(message, number).Select(Convert.ToHexStringLower).FirstOrDefault() ?? "";

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
