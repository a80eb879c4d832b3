// Package internal holds ordo's AWS adapters, shared by the Lambda
// entrypoints under functions/: the Lambda step invoker, the SQS effect
// dispatcher and continuation queue, trigger decoding, and the orchestrator
// and effects handlers. Entrypoints (functions/<name>/main.go) only wire:
// they read the environment, build SDK clients and call lambda.Start.
//
// Everything here takes SDK clients or aws.Config from its caller and never
// loads configuration or exits the process.
//
// Environment (declared in template.yaml):
//
//	ORDO_TABLE                   the journal table
//	ORDO_PAYLOAD_BUCKET          the bucket large commits are offloaded to (optional:
//	                             without it, a commit over a DynamoDB item fails its step)
//	ORDO_ORCHESTRATOR_QUEUE_URL  the orchestrator's own queue (continuations, timers, API starts,
//	                             triggers resubmitted from review)
//	ORDO_EFFECTS_QUEUE_URL       the effects queue (orchestrator; api: failed effects re-dispatched
//	                             from review)
//	ORDO_RESOURCE_PREFIX         "<stack>-": step Lambdas are "<stack>-<function>";
//	                             trigger queues/streams "<stack>-<channel>"; the API
//	                             accepts definitions naming deployed step Lambdas only
//	ORDO_NOTIFICATIONS_QUEUE_URL the queue "email" effects go to (effects function)
//	ORDO_EVENTS_STREAM           the stream "publish" effects go to (effects function)
//	ORDO_EFFECTS_MAX_RECEIVE     the effects queue's maxReceiveCount: a failure on that
//	                             delivery also becomes a review item (failed-effect/<id>)
//	ORDO_HTTP_EFFECT_TARGETS     where "http" effects may go (effects function; package egress)
//	ORDO_API_ROLE                viewer, operator or admin: what the API function's callers may do
//	ORDO_CALLBACK_KEY_SECRET     the Secrets Manager secret callback tokens are signed
//	                             with (orchestrator, api); or else
//	ORDO_CALLBACK_KEY_PARAMETER  an SSM SecureString parameter holding the keys
//	ORDO_STEP_INVOKE             sync (default) or async: how the orchestrator invokes steps
//	                             whose definition sets no invoke mode
//	ORDO_LOG_LEVEL               debug, info (default), warn, error
package internal
