"""The project's AWS infrastructure: ``infra/stack.yaml``, deployed as one CloudFormation stack."""
