import Environments
import Support

/// What `GET /metadata` and `GET /schema` describe: the environments with their options, and JSON schemas of the
/// action, observation and state objects the server exchanges.
enum WireSchema {
    static var metadata: JSONValue {
        .object([
            ("name", .string("gtr")),
            ("description", .string("gtr's environments (gym-cards games with frames, the native ALFWorld household engine), GTR's oracle corrector and experts, over OpenEnv's protocol")),
            ("version", .string(BuildInfo.version)),
            ("envs", .array(EnvironmentRegistry.entries.map { e in
                .object([
                    ("name", .string(e.name)),
                    ("aliases", .array(e.name == "alfworld" ? [.string("household")] : [])),
                    ("description", .string(e.summary)),
                    ("options", .array(e.options.map { .string(String($0.dropLast($0.hasSuffix("=") ? 1 : 0))) })),
                    ("expert", .bool(Expert.sftEnvironments.contains(e.name))),
                ])
            })),
            ("message_types", .array(["reset", "step", "state", "correct", "expert", "close"].map { .string($0) })),
        ])
    }

    static func object(_ props: [(String, JSONValue)], required: [String] = [], extra: Bool = false) -> JSONValue {
        .object([("type", .string("object")), ("properties", .object(props)),
                 ("required", .array(required.map { .string($0) })), ("additionalProperties", .bool(extra))])
    }
    static func type(_ t: String, _ d: String) -> JSONValue { .object([("type", .string(t)), ("description", .string(d))]) }
    static func types(_ ts: [String], _ d: String) -> JSONValue {
        .object([("type", .array(ts.map { .string($0) })), ("description", .string(d))])
    }

    static var schema: JSONValue {
        let action = JSONValue.object([
            ("description", .string("exactly one of action, command or text")),
            ("oneOf", .array([
                object([("action", type("string", "an action token (card games) or a household command"))], required: ["action"]),
                object([("command", type("string", "a household command (same as action)"))], required: ["command"]),
                object([("text", type("string", "a model's raw output, read by GTR's parsing and the env's invalid= rule"))], required: ["text"]),
            ])),
        ])
        let observation = object([
            ("env", type("string", "registry name")), ("session_id", type("string", "the server session")),
            ("episode", type("integer", "episode number within the session, from 1")), ("t", type("integer", "steps taken")),
            ("prompt", type("string", "the GTR task prompt for this state")), ("text", type("string", "the state in words")),
            ("frame", types(["string", "null"], "the 300x300 frame as base64 PNG (null in text mode or with frames=false)")),
            ("observation_mode", type("string", "image or text")),
            ("legal_actions", .object([("type", .string("array")), ("items", .object([("type", .string("string"))]))])),
            ("info", type("object", "the env's info dict")), ("reward", type("number", "this step's reward (0 after reset)")),
            ("done", type("boolean", "terminated or truncated")), ("episode_return", type("number", "return so far")),
            ("action", types(["string", "null"], "the executed action, \"(invalid)\" when a model output executed nothing")),
            ("invalid", type("boolean", "the model output could not be read as one action")),
            ("terminated", type("boolean", "")), ("truncated", type("boolean", "")),
            ("parsed", types(["array", "null"], "action keywords found in a model output")),
        ], required: ["env", "session_id", "episode", "t", "prompt", "text", "legal_actions", "done"])
        let state = object([
            ("episode_id", types(["string", "null"], "SESSION:EPISODE")), ("step_count", type("integer", "")),
            ("session_id", type("string", "")), ("env", types(["string", "null"], "")), ("episode", type("integer", "")),
            ("seed", types(["integer", "null"], "")), ("options", type("object", "reset options as strings")),
            ("done", type("boolean", "")), ("episode_return", type("number", "")),
            ("target_formula", types(["string", "null"], "GTR's target formula for the episode")),
            ("log_session", type("integer", "the gtr session id in the session log (0 when logging is off)")),
        ], required: ["episode_id", "step_count", "session_id"])
        return .object([("action", action), ("observation", observation), ("state", state)])
    }
}
