// Package localrun runs a SAM template's functions on this machine against
// local AWS emulators, like a Docker-free `sam local` + LocalStack. It backs
// `ordo local up|down|status`.
//
// Up reads template.yaml with goformation and, on the endpoints of the SDK's
// default configuration (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, ...;
// see infra/env.sh and infra/start.sh for DynamoDB Local + kumo):
//
//   - creates the AWS::DynamoDB::Table (keys, GSIs/LSIs, streams, TTL),
//     AWS::SQS::Queue (attributes, RedrivePolicy to a DLQ),
//     AWS::Kinesis::Stream and AWS::S3::Bucket (on kumo's S3, named in lower
//     case; its settings are not applied) resources, reusing ones that
//     already exist;
//   - resolves each AWS::Serverless::Function's environment (Globals
//     included): !Ref/!GetAtt/!Sub of those resources become the emulator's
//     table names, queue URLs, ARNs and stream names;
//   - builds each function as SAM does for provided.al2023 + BuildMethod
//     go1.x (GOOS=linux GOARCH=<host> CGO_ENABLED=0 go build -tags
//     lambda.norpc -o bootstrap ./<CodeUri>), registers it with the Lambda
//     emulator (kumo) and runs the real bootstrap against kumo's Runtime API
//     (AWS_LAMBDA_RUNTIME_API=<kumo>/_runtime/<name>), restarting it with
//     backoff whenever it exits (a handler panic ends the process);
//   - applies each function's EventInvokeConfig (PutFunctionEventInvokeConfig:
//     retries and OnSuccess/OnFailure destinations of asynchronous invokes,
//     which infra/tools/kumo emulates for kumo);
//   - runs Node functions (Runtime nodejs20.x, Handler FILE.EXPORT, no
//     build) from their CodeUri directory with the local node, driven by
//     localrun's runtime-interface client (noderuntime.js), which plays the
//     managed runtime's part against the same runtime API;
//   - runs the functions of more templates (Options.Templates: a team's own
//     stack of step functions) beside the main one's, with their
//     PlatformStack parameter set to the stack name;
//   - polls each SQS and Kinesis event source the way AWS's pollers do and
//     invokes the function with events.SQSEvent / events.KinesisEvent
//     batches, honouring ReportBatchItemFailures (SQS: delete only the
//     messages not reported as failed, none if the invoke fails, so they
//     return after the visibility timeout and the queue's redrive policy
//     moves them to the DLQ; Kinesis: resume from the first failed sequence
//     number, retrying up to MaximumRetryAttempts).
//
// Template parsing: goformation resolves intrinsics while parsing and turns
// !Ref/!GetAtt of resources into nil. Parse installs its own Ref, Fn::GetAtt
// and Fn::Sub handlers that leave placeholders ({{ordo:Ref:X}},
// {{ordo:GetAtt:X.Attr}}) which are filled in once the resources exist.
// goformation's typed SAM event sources reject unknown fields (an SQS event
// with FunctionResponseTypes decodes to nothing), so event sources are read
// from goformation's intrinsic-processed JSON instead.
//
// Not emulated: IAM, reserved concurrency, batching windows, SQS batches
// larger than 10 messages, FIFO group ordering, Kinesis resharding, other
// event types.
package localrun
