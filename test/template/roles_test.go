package template

import (
	"slices"
	"testing"
)

// apiRole returns the ORDO_API_ROLE a function is deployed with ("" for
// functions other than the API).
func apiRole(tp *tmpl, id string) string {
	env, _ := tp.raw.Resources[id].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	role, _ := vars["ORDO_API_ROLE"].(string)
	return role
}

// TestAPIRoles: one IAM-authenticated Function URL per role, and one IAM
// principal per role that may call only its own URL.
func TestAPIRoles(t *testing.T) {
	tp := load(t)
	fnOf := map[string]string{}
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		if r := apiRole(tp, id); r != "" {
			if other, dup := fnOf[r]; dup {
				t.Errorf("%s and %s both serve role %s", id, other, r)
			}
			fnOf[r] = id
			url, _ := tp.raw.Resources[id].Properties["FunctionUrlConfig"].(map[string]any)
			if url["AuthType"] != "AWS_IAM" {
				t.Errorf("%s FunctionUrlConfig %v, want AuthType AWS_IAM", id, url)
			}
		}
	}
	roles := []string{"viewer", "operator", "admin"}
	for _, r := range roles {
		if fnOf[r] == "" {
			t.Errorf("no API function with ORDO_API_ROLE %s", r)
		}
	}
	// Every grant of lambda:InvokeFunctionUrl in the template, by principal.
	reaches := map[string][]string{}
	for _, id := range tp.ofType("AWS::IAM::Role") {
		pols, _ := tp.raw.Resources[id].Properties["Policies"].([]any)
		for _, p := range pols {
			doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
			stmts, _ := doc["Statement"].([]any)
			for _, st := range stmts {
				s, _ := st.(map[string]any)
				if !slices.Contains(strs(s["Action"]), "lambda:InvokeFunctionUrl") {
					continue
				}
				for _, res := range strs(s["Resource"]) {
					fn, ok := getAttTarget(res, "Arn")
					if !ok {
						t.Errorf("%s: InvokeFunctionUrl on %q, want !GetAtt <function>.Arn", id, res)
					}
					reaches[id] = append(reaches[id], fn)
				}
				cond, _ := s["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				if eq["lambda:FunctionUrlAuthType"] != "AWS_IAM" {
					t.Errorf("%s: InvokeFunctionUrl without the AWS_IAM auth-type condition", id)
				}
			}
		}
	}
	seen := map[string]string{}
	for principal, fns := range reaches {
		if len(fns) != 1 {
			t.Errorf("%s reaches %v, want exactly one API URL", principal, fns)
			continue
		}
		r := apiRole(tp, fns[0])
		if r == "" {
			t.Errorf("%s reaches %s, which is not an API function", principal, fns[0])
		}
		if other, dup := seen[r]; dup {
			t.Errorf("%s and %s both reach the %s URL", principal, other, r)
		}
		seen[r] = principal
	}
	for _, r := range roles {
		if seen[r] == "" {
			t.Errorf("no principal reaches the %s URL", r)
		}
	}
}
